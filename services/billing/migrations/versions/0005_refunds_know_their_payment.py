"""billing: a refund remembers the payment it gives back (RefundPaid now carries payment_id), so that an invoice
shows what of its payments went back to the payer.

Refunds recorded before have none: their invoices read as before.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("refunds", sa.Column("payment_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_refunds_payment_id", "refunds", ["payment_id"])


def downgrade() -> None:
    op.drop_index("ix_refunds_payment_id", table_name="refunds")
    op.drop_column("refunds", "payment_id")
