"""billing: events applied out of order (a nak'ed event retried after a later one) no longer undo what came after.

- `cancelled_bookings`: a booking cancelled by its owner or an admin before billing had its rental. Its
  BookingConfirmed, applied after, opens no rental (booking never confirms such a booking again; only an expired hold
  comes back).
- `tenants.facts_at`: when auth stated the name, e-mail and phone kept (the event's occurred_at); an older
  UserRegistered or UserUpdated never overwrites them.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cancelled_bookings",
        sa.Column("booking_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", name="pk_cancelled_bookings"),
    )
    op.add_column("tenants", sa.Column("facts_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "facts_at")
    op.drop_table("cancelled_bookings")
