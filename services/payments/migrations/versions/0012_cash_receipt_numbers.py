"""payments: cash receipts numbered in a row (CASH-000124, CASH-000125, ...) by a counter of their own, instead of the
payment's id, which M-PESA and card payments share. The counter starts after the highest payment id of any cash
payment, so no new receipt repeats one already given (those were CASH-<payment id>).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cash_receipt_numbers",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_cash_receipt_numbers_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_cash_receipt_numbers"),
    )
    op.execute("INSERT INTO cash_receipt_numbers (id, last) "
               "SELECT 1, COALESCE(max(id), 0) FROM payments WHERE method = 'cash'")


def downgrade() -> None:
    op.drop_table("cash_receipt_numbers")
