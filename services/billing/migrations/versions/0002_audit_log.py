"""billing: the audit log of admin actions (jeshkit.audit) and the outbox's trace context (jeshkit.tracing).

Revision ID: 0002
Revises: 0001
"""

from jeshkit.audit import create_audit_log, drop_audit_log
from jeshkit.migrations import add_outbox_trace_context, drop_outbox_trace_context

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_log()
    add_outbox_trace_context()


def downgrade() -> None:
    drop_outbox_trace_context()
    drop_audit_log()
