"""payments: the desk's drawer counted at the end of a day, against what the cash book said it should hold.

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


def downgrade() -> None:
    op.drop_table("cash_counts")
