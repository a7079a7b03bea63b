"""booking: a refund the booking recorded becomes `paid` once payments says so (RefundPaid), so that an admin's
"owing a refund" list and badge stop showing money that went back long ago.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _statuses("'required', 'paid'")


def downgrade() -> None:
    op.execute("UPDATE refunds SET status = 'required' WHERE status = 'paid'")
    _statuses("'required'")


def _statuses(allowed: str) -> None:
    # 0001 created it under a doubled name (the naming convention applied to a name that had it already).
    for name in ("ck_refunds_ck_refunds_status_known", "ck_refunds_status_known"):
        op.execute(f"ALTER TABLE refunds DROP CONSTRAINT IF EXISTS {name}")
    op.execute(f"ALTER TABLE refunds ADD CONSTRAINT ck_refunds_status_known CHECK (status IN ({allowed}))")
