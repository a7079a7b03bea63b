"""billing: invoice numbers keep every digit past INV-999999 (lpad cut a longer number to six characters, so invoice
1,000,000 would have been INV-100000 again and broken the unique constraint). `to_char` with `FM` and the pattern's
zeros pads to six digits and never truncates.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NUMBER = "'INV-' || to_char(nextval('invoice_numbers'), 'FM999999999999000000')"
OLD_NUMBER = "'INV-' || lpad(nextval('invoice_numbers')::text, 6, '0')"


def upgrade() -> None:
    op.execute(f"ALTER TABLE invoices ALTER COLUMN number SET DEFAULT {NUMBER}")


def downgrade() -> None:
    op.execute(f"ALTER TABLE invoices ALTER COLUMN number SET DEFAULT {OLD_NUMBER}")
