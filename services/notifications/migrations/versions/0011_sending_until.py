"""notifications: `sending_until`, set while a sender has a message on its way (a lease, cleared with the attempt's
outcome), so that a reminder waiting for a retry after a failed attempt follows what changes meanwhile (withdrawn
once paid, the amount left, the customer's language, phone and email: notifications.waiting) while one on its way is
left alone. The rows of before that were tried and are still queued count as on their way until their next attempt
(what they were before: never changed); the sender's next attempt sets the column as it should be.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("sending_until", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE notifications SET sending_until = next_attempt_at WHERE status = 'queued' AND attempts > 0")


def downgrade() -> None:
    op.drop_column("notifications", "sending_until")
