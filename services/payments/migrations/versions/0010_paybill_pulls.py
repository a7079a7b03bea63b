"""payments: a paybill registered for Pull Transactions, and how far its payments were listed (Paybill payments whose
confirmation never came are found by a job, not only by an operator's claim).

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
        "paybill_pulls",
        sa.Column("shortcode", sa.Text(), nullable=False),
        sa.Column("nominated_number", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.BigInteger(), nullable=True),
        sa.Column("pulled_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_found", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("shortcode", name="pk_paybill_pulls"),
    )


def downgrade() -> None:
    op.drop_table("paybill_pulls")
