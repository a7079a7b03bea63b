"""notifications: messages held for users whose contact details are not known yet (until auth tells them).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("source_key", sa.String(80), nullable=False),
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("params", JSONB(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("misses", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_held_messages"),
        sa.UniqueConstraint("source_key", name="uq_held_messages_source_key"),
    )
    op.create_index("ix_held_messages_next_attempt_at", "held_messages", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_held_messages_next_attempt_at", table_name="held_messages")
    op.drop_table("held_messages")
