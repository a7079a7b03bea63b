"""transport: a booking's confirmation and why it was cancelled, so that a payment confirming a booking after its hold
expired (the booking service revives it) makes it a booking transport requests can be tied to again, whatever
order the two events arrive in (transport.service).

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
    op.add_column("known_bookings", sa.Column("confirmed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("known_bookings", sa.Column("cancel_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("known_bookings", "cancel_reason")
    op.drop_column("known_bookings", "confirmed")
