"""payments: when billing applied an invoice's payment to the rental (RentPaymentApplied), so that a new push for the
invoice is not sent on a balance that does not count it yet. Every success payment of an invoice made before this ran
was applied long ago (billing applies within seconds): it is marked applied at its settlement.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("billing_applied_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE payments SET billing_applied_at = COALESCE(settled_at, updated_at) "
        "WHERE status = 'success' AND invoice_id IS NOT NULL"
    )
    op.create_index(
        "ix_payments_unapplied_invoice_id", "payments", ["invoice_id"],
        postgresql_where=sa.text("status = 'success' AND invoice_id IS NOT NULL AND billing_applied_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_payments_unapplied_invoice_id", table_name="payments")
    op.drop_column("payments", "billing_applied_at")
