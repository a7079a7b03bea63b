"""billing: initial schema (messaging tables, rentals, invoices and their lines, payments, refunds, billed days).

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
    op.execute("CREATE SEQUENCE invoice_numbers")

    op.create_table(
        "rentals",
        sa.Column("booking_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("monthly_rate", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("billing_day", sa.Integer(), nullable=False),
        sa.Column("next_period_start", sa.Date(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        sa.Column("delinquency_stage", sa.Text(), server_default=sa.text("'current'"), nullable=False),
        sa.Column("access", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        sa.Column("credit", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("autopay_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("autopay_phone", sa.Text(), nullable=True),
        sa.Column("gate_code", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("monthly_rate >= 0", name="ck_rentals_monthly_rate_not_negative"),
        sa.CheckConstraint("status IN ('active', 'ended')", name="ck_rentals_status_known"),
        sa.CheckConstraint(
            "delinquency_stage IN ('current', 'late', 'locked_out', 'lien')", name="ck_rentals_stage_known"
        ),
        sa.CheckConstraint("access IN ('active', 'suspended')", name="ck_rentals_access_known"),
        sa.CheckConstraint("credit >= 0", name="ck_rentals_credit_not_negative"),
        sa.CheckConstraint("billing_day BETWEEN 1 AND 31", name="ck_rentals_billing_day_valid"),
        sa.PrimaryKeyConstraint("booking_id", name="pk_rentals"),
    )
    op.create_index(
        "uq_rentals_active_gate_code", "rentals", ["gate_code"], unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_rentals_user_id", "rentals", ["user_id"])

    op.create_table(
        "invoices",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "number", sa.Text(), nullable=False,
            server_default=sa.text("'INV-' || lpad(nextval('invoice_numbers')::text, 6, '0')"),
        ),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'open'"), nullable=False),
        sa.Column("late_fee_charged", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'paid', 'void')", name="ck_invoices_status_known"),
        sa.CheckConstraint("total >= 0 AND amount_paid >= 0", name="ck_invoices_amounts_not_negative"),
        sa.CheckConstraint("amount_paid <= total", name="ck_invoices_not_overpaid"),
        sa.CheckConstraint("period_end >= period_start", name="ck_invoices_period_ordered"),
        sa.ForeignKeyConstraint(["booking_id"], ["rentals.booking_id"], name="fk_invoices_booking_id_rentals"),
        sa.PrimaryKeyConstraint("id", name="pk_invoices"),
        sa.UniqueConstraint("booking_id", "period_start", name="uq_invoices_booking_id_period_start"),
        sa.UniqueConstraint("number", name="uq_invoices_number"),
    )
    op.create_index(
        "ix_invoices_open", "invoices", ["booking_id", "due_date"], postgresql_where=sa.text("status = 'open'")
    )
    op.create_index("ix_invoices_user_id", "invoices", ["user_id"])

    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('rent', 'late_fee', 'adjustment')", name="ck_invoice_lines_kind_known"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name="fk_invoice_lines_invoice_id_invoices"),
        sa.PrimaryKeyConstraint("id", name="pk_invoice_lines"),
    )
    op.create_index("ix_invoice_lines_invoice_id", "invoice_lines", ["invoice_id"])

    op.create_table(
        "payments",
        sa.Column("payment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("applied", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint("amount >= 0", name="ck_payments_amount_not_negative"),
        sa.PrimaryKeyConstraint("payment_id", name="pk_payments"),
    )
    op.create_index("ix_payments_booking_id", "payments", ["booking_id"])
    op.create_index("ix_payments_paid_on", "payments", ["paid_on"])

    op.create_table(
        "allocations",
        sa.Column("payment_id", sa.BigInteger(), nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_allocations_amount_positive"),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.payment_id"], name="fk_allocations_payment_id_payments"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name="fk_allocations_invoice_id_invoices"),
        sa.PrimaryKeyConstraint("payment_id", "invoice_id", name="pk_allocations"),
    )

    op.create_table(
        "refunds",
        sa.Column("refund_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.CheckConstraint("amount >= 0", name="ck_refunds_amount_not_negative"),
        sa.PrimaryKeyConstraint("refund_id", name="pk_refunds"),
    )
    op.create_index("ix_refunds_paid_on", "refunds", ["paid_on"])

    op.create_table(
        "billed_days",
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("billed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["rentals.booking_id"], name="fk_billed_days_booking_id_rentals"),
        sa.PrimaryKeyConstraint("booking_id", "day", name="pk_billed_days"),
    )

    op.create_table(
        "tenants",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name="pk_tenants"),
    )
    op.create_table(
        "units",
        sa.Column("unit_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("unit_number", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", name="pk_units"),
    )


def downgrade() -> None:
    for table in ("units", "tenants", "billed_days", "refunds", "allocations", "payments", "invoice_lines",
                  "invoices", "rentals"):
        op.drop_table(table)
    op.execute("DROP SEQUENCE invoice_numbers")
    drop_messaging_tables()
