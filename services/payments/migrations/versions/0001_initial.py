"""payments: initial schema (messaging tables, the booking copy, payments).

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
        "bookings",
        sa.Column("booking_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("unit_id", sa.BigInteger(), nullable=True),
        sa.Column("total_price", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'cancelled')", name="ck_bookings_status_known"),
        sa.PrimaryKeyConstraint("booking_id", name="pk_bookings"),
    )

    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("phone_number", sa.Text(), nullable=True),
        sa.Column("account_reference", sa.Text(), nullable=True),
        sa.Column("merchant_request_id", sa.Text(), nullable=True),
        sa.Column("checkout_request_id", sa.Text(), nullable=True),
        sa.Column("callback_token", sa.Text(), nullable=True),
        sa.Column("result_code", sa.Integer(), nullable=True),
        sa.Column("result_desc", sa.Text(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discrepancy", sa.Text(), nullable=True),
        sa.Column("callbacks_received", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_callback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'success', 'failed')", name="ck_payments_status_known"),
        sa.CheckConstraint("method IN ('mpesa', 'paypal', 'card')", name="ck_payments_method_known"),
        sa.CheckConstraint("amount > 0", name="ck_payments_amount_positive"),
        sa.CheckConstraint(
            "method <> 'mpesa' OR checkout_request_id IS NOT NULL", name="ck_payments_mpesa_has_checkout_id"
        ),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.booking_id"], name="fk_payments_booking_id_bookings"),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.UniqueConstraint("checkout_request_id", name="uq_payments_checkout_request_id"),
        sa.UniqueConstraint("receipt", name="uq_payments_receipt"),
    )
    # At most one push in flight per booking, whatever the concurrency.
    op.create_index(
        "uq_payments_one_pending_per_booking",
        "payments",
        ["booking_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_payments_booking_id_created_at", "payments", ["booking_id", "created_at"])
    op.create_index(
        "ix_payments_pending_next_check_at",
        "payments",
        ["next_check_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    # The one Daraja OAuth token every replica shares (payments.token_store).
    op.create_table(
        "daraja_token",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("good_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_daraja_token_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_daraja_token"),
    )


def downgrade() -> None:
    op.drop_table("daraja_token")
    op.drop_table("payments")
    op.drop_table("bookings")
    drop_messaging_tables()
