"""payments: Pesapal (card, Airtel Money): the shared access token and the registered IPN URLs.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pesapal_token",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("good_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetching_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_pesapal_token_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_pesapal_token"),
    )
    op.create_table(
        "pesapal_ipn",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("ipn_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("url", name="pk_pesapal_ipn"),
    )


def downgrade() -> None:
    op.drop_table("pesapal_ipn")
    op.drop_table("pesapal_token")
