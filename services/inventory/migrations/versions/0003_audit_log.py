"""inventory: the audit log of admin actions (jeshkit.audit) and the outbox's trace context (jeshkit.tracing).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from jeshkit.audit import create_audit_log, drop_audit_log

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_log()
    op.execute("ALTER TABLE outbox ADD COLUMN IF NOT EXISTS traceparent text")


def downgrade() -> None:
    op.execute("ALTER TABLE outbox DROP COLUMN IF EXISTS traceparent")
    drop_audit_log()
