"""auth: login throttles per (email, client address) with exponential backoff; credential rate buckets per address.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The old counters were per email only (anybody could lock anybody out): they are simply dropped.
    op.drop_table("login_throttles")
    op.create_table(
        "login_throttles",
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("client_ip", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", "client_ip", name="pk_login_throttles"),
        sa.CheckConstraint("attempts >= 0", name="ck_login_throttles_attempts_non_negative"),
    )
    op.create_index("ix_login_throttles_last_attempt_at", "login_throttles", ["last_attempt_at"])
    op.create_table(
        "credential_buckets",
        sa.Column("client_ip", sa.Text, nullable=False),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_ip", name="pk_credential_buckets"),
    )
    op.create_index("ix_credential_buckets_updated_at", "credential_buckets", ["updated_at"])


def downgrade() -> None:
    op.drop_table("credential_buckets")
    op.drop_table("login_throttles")
    op.create_table(
        "login_throttles",
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", name="pk_login_throttles"),
        sa.CheckConstraint("attempts >= 0", name="ck_login_throttles_attempts_non_negative"),
    )
