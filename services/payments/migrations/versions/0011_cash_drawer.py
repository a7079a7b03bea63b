"""payments: the desk's cash drawer: cash banked out of it or put in as float, and the counts an operator makes
against what the cash book says it should hold.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cash_counts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("counted", sa.BigInteger(), nullable=False),
        sa.Column("expected", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("counted_by", sa.BigInteger(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("counted >= 0", name="ck_cash_counts_counted_not_negative"),
        sa.PrimaryKeyConstraint("id", name="pk_cash_counts"),
    )
    op.create_index("ix_cash_counts_day", "cash_counts", ["day", "id"])
    op.create_table(
        "cash_movements",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("moved_by", sa.BigInteger(), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('banked', 'float')", name="ck_cash_movements_kind_known"),
        sa.CheckConstraint("amount > 0", name="ck_cash_movements_amount_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_cash_movements"),
    )
    op.create_index("ix_cash_movements_moved_at", "cash_movements", ["moved_at"])
    op.create_index("uq_cash_movements_idempotency_key", "cash_movements", ["idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_table("cash_movements")
    op.drop_table("cash_counts")
