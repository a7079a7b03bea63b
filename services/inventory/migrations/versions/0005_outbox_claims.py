"""inventory: the outbox relay's sweep claims rows for a while instead of holding their row locks while it publishes
(jeshkit.relay).

Revision ID: 0005
Revises: 0004
"""

from jeshkit.migrations import add_outbox_claims, drop_outbox_claims

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_claims()


def downgrade() -> None:
    drop_outbox_claims()
