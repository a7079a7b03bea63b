"""notifications: recipients found by phone (money paid to the Paybill from a phone, for an account that names
nothing: its customer is told, PaymentUnmatched).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_recipients_phone", "recipients", ["phone"])


def downgrade() -> None:
    op.drop_index("ix_recipients_phone", table_name="recipients")
