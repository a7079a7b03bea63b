"""payments: money sent to the Paybill from a phone (M-PESA C2B), kept from its confirmation to its payment.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paybill_payments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("trans_id", sa.Text(), nullable=False),
        sa.Column("shortcode", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("msisdn", sa.Text()),
        sa.Column("payer_name", sa.Text()),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'received'")),
        sa.Column("result_token", sa.Text(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("phone_number", sa.Text()),
        sa.Column("payment_id", sa.BigInteger()),
        sa.Column("unmatched_id", sa.BigInteger()),
        sa.Column("note", sa.Text()),
        sa.Column("payload", postgresql.JSONB()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_paybill_payments"),
        sa.CheckConstraint("status IN ('received', 'verified', 'applied', 'unmatched', 'rejected')",
                           name="ck_paybill_payments_status_known"),
        sa.CheckConstraint("amount > 0", name="ck_paybill_payments_amount_positive"),
        sa.UniqueConstraint("trans_id", name="uq_paybill_payments_trans_id"),
        sa.UniqueConstraint("result_token", name="uq_paybill_payments_result_token"),
    )
    op.create_index("ix_paybill_payments_open", "paybill_payments", ["updated_at"],
                    postgresql_where=sa.text("status IN ('received', 'verified')"))


def downgrade() -> None:
    op.drop_index("ix_paybill_payments_open", table_name="paybill_payments")
    op.drop_table("paybill_payments")
