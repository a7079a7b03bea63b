"""billing: a move-out notice applied before its booking's confirmation (out of order) is kept, so that the rental
the confirmation opens ends on that date (it was dropped, and the rental billed with no end).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "early_move_outs",
        sa.Column("booking_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("move_out_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", name="pk_early_move_outs"),
    )


def downgrade() -> None:
    op.drop_table("early_move_outs")
