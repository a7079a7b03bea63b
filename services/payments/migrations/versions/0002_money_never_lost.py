"""payments: intents recorded before Daraja is asked, unknown payments, invoices, refunds, unmatched money.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))
    # A replica fetching a new Daraja token holds this lease instead of a row lock across the HTTP call.
    op.add_column("daraja_token", sa.Column("fetching_until", sa.DateTime(timezone=True), nullable=True))

    op.drop_constraint("ck_payments_mpesa_has_checkout_id", "payments", type_="check")
    op.drop_constraint("ck_payments_status_known", "payments", type_="check")
    op.create_check_constraint(
        "ck_payments_status_known", "payments", "status IN ('pending', 'success', 'failed', 'unknown')"
    )
    op.drop_constraint("fk_payments_booking_id_bookings", "payments", type_="foreignkey")
    op.add_column("payments", sa.Column("invoice_id", sa.BigInteger(), nullable=True))
    op.add_column("payments", sa.Column("push_sent_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payments", sa.Column("reported_result_code", sa.Integer(), nullable=True))
    op.execute("UPDATE payments SET push_sent_at = created_at")
    # Tokens were per process before; the push's own token makes its callback findable before its answer.
    op.execute("UPDATE payments SET callback_token = NULL")
    op.create_unique_constraint("uq_payments_callback_token", "payments", ["callback_token"])
    op.drop_index("uq_payments_one_pending_per_booking", table_name="payments")
    op.create_index(
        "uq_payments_one_unsettled_per_booking", "payments", ["booking_id"], unique=True,
        postgresql_where=sa.text("status IN ('pending', 'unknown') AND invoice_id IS NULL"),
    )
    op.create_index(
        "uq_payments_one_unsettled_per_invoice", "payments", ["invoice_id"], unique=True,
        postgresql_where=sa.text("status IN ('pending', 'unknown') AND invoice_id IS NOT NULL"),
    )

    op.create_table(
        "refunds",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=True),
        sa.Column("invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("unmatched_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), server_default="mpesa", nullable=False),
        sa.Column("phone_number", sa.Text(), nullable=True),
        sa.Column("originator_conversation_id", sa.Text(), nullable=True),
        sa.Column("conversation_id", sa.Text(), nullable=True),
        sa.Column("result_token", sa.Text(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("approved_by", sa.BigInteger(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('required', 'approved', 'paying', 'paid', 'failed')", name="ck_refunds_status_known"
        ),
        sa.CheckConstraint("amount > 0", name="ck_refunds_amount_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_refunds"),
        sa.UniqueConstraint("unmatched_id", name="uq_refunds_unmatched_id"),
        sa.UniqueConstraint("originator_conversation_id", name="uq_refunds_originator_conversation_id"),
        sa.UniqueConstraint("result_token", name="uq_refunds_result_token"),
    )
    op.create_index(
        "uq_refunds_payment_id", "refunds", ["payment_id"], unique=True,
        postgresql_where=sa.text("payment_id IS NOT NULL"),
    )
    op.create_index("ix_refunds_status", "refunds", ["status"])

    op.create_table(
        "unmatched",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("phone_number", sa.Text(), nullable=True),
        sa.Column("result_code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("booking_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", postgresql.JSONB(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_unmatched"),
        sa.UniqueConstraint("receipt", name="uq_unmatched_receipt"),
    )


def downgrade() -> None:
    op.drop_table("unmatched")
    op.drop_index("ix_refunds_status", table_name="refunds")
    op.drop_index("uq_refunds_payment_id", table_name="refunds")
    op.drop_table("refunds")
    op.drop_index("uq_payments_one_unsettled_per_invoice", table_name="payments")
    op.drop_index("uq_payments_one_unsettled_per_booking", table_name="payments")
    op.create_index(
        "uq_payments_one_pending_per_booking", "payments", ["booking_id"], unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_constraint("uq_payments_callback_token", "payments", type_="unique")
    op.drop_column("payments", "reported_result_code")
    op.drop_column("payments", "push_sent_at")
    op.drop_column("payments", "invoice_id")
    op.drop_constraint("ck_payments_status_known", "payments", type_="check")
    op.create_check_constraint("ck_payments_status_known", "payments", "status IN ('pending', 'success', 'failed')")
    op.drop_column("daraja_token", "fetching_until")
    op.drop_column("bookings", "status_at")
