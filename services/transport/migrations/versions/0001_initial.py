"""transport: initial schema (messaging tables, transport requests, the bookings transport knows of).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from jeshkit.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "transport_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=True),
        sa.Column("pickup_address", sa.String(255), nullable=False),
        sa.Column("delivery_address", sa.String(255), nullable=False),
        sa.Column("distance", sa.Numeric(6, 2), nullable=False),
        sa.Column("estimated_cost", sa.Integer(), nullable=False),
        sa.Column("preferred_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items_description", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="requested"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("distance > 0 AND distance <= 500", name="distance_range"),
        sa.CheckConstraint("estimated_cost >= 0", name="estimated_cost_non_negative"),
        sa.CheckConstraint(
            "status IN ('requested', 'scheduled', 'in_progress', 'completed', 'cancelled')",
            name="status_known",
        ),
        sa.CheckConstraint("char_length(btrim(pickup_address)) > 0", name="pickup_not_blank"),
        sa.CheckConstraint(
            "char_length(btrim(delivery_address)) > 0", name="delivery_not_blank"
        ),
        sa.CheckConstraint(
            "char_length(btrim(items_description)) > 0", name="items_not_blank"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_transport_requests"),
    )
    op.create_index("ix_transport_requests_user_id", "transport_requests", ["user_id"])
    op.create_index("ix_transport_requests_booking_id", "transport_requests", ["booking_id"])
    op.create_index("ix_transport_requests_preferred_time", "transport_requests", ["preferred_time"])
    op.create_table(
        "known_bookings",
        sa.Column("booking_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("booking_id", name="pk_known_bookings"),
    )


def downgrade() -> None:
    op.drop_table("known_bookings")
    op.drop_table("transport_requests")
    drop_messaging_tables()
