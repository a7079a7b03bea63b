"""inventory: initial schema (messaging tables, the unit catalogue and the booked ranges).

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
        "units",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("unit_number", sa.Text(), nullable=False),
        sa.Column("size", sa.Text(), nullable=False),
        sa.Column("dimensions", sa.Text(), nullable=False),
        sa.Column("monthly_price", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("in_maintenance", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("monthly_price > 0", name="ck_units_monthly_price_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_units"),
    )
    op.create_index("uq_units_unit_number_ci", "units", [sa.text("lower(unit_number)")], unique=True)
    op.create_index("ix_units_size_ci", "units", [sa.text("lower(size)")])
    op.create_index("ix_units_monthly_price", "units", ["monthly_price"])

    op.create_table(
        "unit_bookings",
        sa.Column("booking_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("state IN ('held', 'confirmed', 'cancelled')", name="ck_unit_bookings_state_known"),
        sa.CheckConstraint(
            "state = 'cancelled' OR (start_date IS NOT NULL AND end_date IS NOT NULL AND end_date > start_date)",
            name="ck_unit_bookings_active_range_valid",
        ),
        sa.PrimaryKeyConstraint("booking_id", name="pk_unit_bookings"),
    )
    op.create_index(
        "ix_unit_bookings_active",
        "unit_bookings",
        ["unit_id", "end_date", "start_date"],
        postgresql_where=sa.text("state <> 'cancelled'"),
    )


def downgrade() -> None:
    op.drop_table("unit_bookings")
    op.drop_table("units")
    drop_messaging_tables()
