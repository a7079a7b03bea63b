"""payments: cash taken at the desk by an operator is a payment too (method `cash`, who took it, the day's cash book).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("ck_payments_method_known", "payments", type_="check")
    op.create_check_constraint("ck_payments_method_known", "payments", "method IN ('mpesa', 'paypal', 'card', 'cash')")
    op.add_column("payments", sa.Column("received_by", sa.BigInteger(), nullable=True))
    op.create_index("ix_payments_cash_paid_at", "payments", ["paid_at"], postgresql_where=sa.text("method = 'cash'"))


def downgrade() -> None:
    op.drop_index("ix_payments_cash_paid_at", table_name="payments")
    op.drop_column("payments", "received_by")
    op.drop_constraint("ck_payments_method_known", "payments", type_="check")
    op.create_check_constraint("ck_payments_method_known", "payments", "method IN ('mpesa', 'paypal', 'card')")
