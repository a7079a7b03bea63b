"""auth: an erased account's personal events are deleted from the JetStream stream too (auth.stream_erasure); the
accounts erased within the stream's retention before this change are queued as well.

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
        "stream_erasures",
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    # EVENTS_MAX_AGE_SECONDS is 7 days by default: anyone erased in the last 8 may still be in the stream.
    op.execute("INSERT INTO stream_erasures (user_id) SELECT id FROM users "
               "WHERE erased_at > now() - interval '8 days'")


def downgrade() -> None:
    op.drop_table("stream_erasures")
