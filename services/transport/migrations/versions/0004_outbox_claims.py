"""transport: the outbox relay's sweep claims rows for a while instead of holding their row locks while it publishes
(jeshkit.relay).

Revision ID: 0004
Revises: 0003
"""

from jeshkit.migrations import add_outbox_claims, drop_outbox_claims

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_claims()


def downgrade() -> None:
    drop_outbox_claims()
