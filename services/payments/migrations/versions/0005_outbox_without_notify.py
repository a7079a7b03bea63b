"""payments: the outbox loses its NOTIFY trigger; whoever commits publishes its events (jeshkit.outbox).

Revision ID: 0005
Revises: 0004
"""

from jeshkit.migrations import drop_outbox_notify, restore_outbox_notify

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_outbox_notify()


def downgrade() -> None:
    restore_outbox_notify()
