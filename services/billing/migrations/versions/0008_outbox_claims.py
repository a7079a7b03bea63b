"""billing: the outbox relay's sweep claims rows for a while instead of holding their row locks while it publishes
(jeshkit.relay).

Revision ID: 0008
Revises: 0007
"""

from jeshkit.migrations import add_outbox_claims, drop_outbox_claims

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_claims()


def downgrade() -> None:
    drop_outbox_claims()
