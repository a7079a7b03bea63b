"""booking: initial schema (messaging tables, the unit copy, bookings with the no-overlap constraint, refunds).

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
    # btree_gist lets one GiST exclusion constraint mix `unit_id WITH =` and `daterange WITH &&`.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")

    op.create_table(
        "units",
        sa.Column("unit_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("unit_number", sa.Text(), nullable=False),
        sa.Column("size", sa.Text(), nullable=True),
        sa.Column("monthly_price", sa.BigInteger(), nullable=False),
        sa.Column("bookable", sa.Boolean(), nullable=False),
        sa.Column("source_time", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("monthly_price >= 0", name="ck_units_monthly_price_not_negative"),
        sa.PrimaryKeyConstraint("unit_id", name="pk_units"),
    )

    op.create_table(
        "bookings",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("total_price", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("payment_status", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("payment_receipt", sa.Text(), nullable=True),
        sa.Column("amount_paid", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("end_date > start_date", name="ck_bookings_dates_ordered"),
        sa.CheckConstraint("total_price >= 0", name="ck_bookings_total_price_not_negative"),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'cancelled')", name="ck_bookings_status_known"),
        sa.CheckConstraint(
            "payment_status IN ('pending', 'success', 'failed')", name="ck_bookings_payment_status_known"
        ),
        sa.CheckConstraint(
            "cancel_reason IS NULL OR cancel_reason IN ('user', 'admin', 'expired')", name="ck_bookings_reason_known"
        ),
        sa.CheckConstraint(
            "(status = 'cancelled') = (cancel_reason IS NOT NULL)", name="ck_bookings_cancelled_has_reason"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.unit_id"], name="fk_bookings_unit_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_bookings"),
    )
    # Two active bookings of one unit never overlap: the database refuses the second one (SQLSTATE 23P01),
    # whatever the concurrency. Ranges are half-open, so [a, b) and [b, c) may both be active.
    op.execute(
        "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_unit_dates_overlap "
        "EXCLUDE USING gist (unit_id WITH =, daterange(start_date, end_date, '[)') WITH &&) "
        "WHERE (status IN ('pending', 'confirmed'))"
    )
    op.create_index("ix_bookings_user_id", "bookings", ["user_id"])
    op.create_index("ix_bookings_unit_id", "bookings", ["unit_id"])
    op.create_index(
        "ix_bookings_pending_holds", "bookings", ["hold_expires_at"], postgresql_where=sa.text("status = 'pending'")
    )

    op.create_table(
        "refunds",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'required'"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("amount >= 0", name="ck_refunds_amount_not_negative"),
        sa.CheckConstraint("status IN ('required')", name="ck_refunds_status_known"),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name="fk_refunds_booking_id_bookings"),
        sa.PrimaryKeyConstraint("id", name="pk_refunds"),
        sa.UniqueConstraint("payment_id", name="uq_refunds_payment_id"),
    )
    op.create_index("ix_refunds_booking_id", "refunds", ["booking_id"])


def downgrade() -> None:
    op.drop_table("refunds")
    op.drop_table("bookings")
    op.drop_table("units")
    drop_messaging_tables()
