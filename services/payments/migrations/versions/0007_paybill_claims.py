"""payments: a Paybill payment an operator claims by its receipt (its confirmation never came) is kept before M-PESA
tells its amount.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("paybill_payments", "amount", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM paybill_payments WHERE amount IS NULL")
    op.alter_column("paybill_payments", "amount", existing_type=sa.Integer(), nullable=False)
