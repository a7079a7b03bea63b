"""inventory: open-ended monthly rentals (end_date NULL) and their rate, for the occupancy report.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("unit_bookings", sa.Column("monthly_rate", sa.BigInteger(), nullable=True))
    op.drop_constraint("ck_unit_bookings_active_range_valid", "unit_bookings", type_="check")
    op.create_check_constraint(
        "ck_unit_bookings_active_range_valid",
        "unit_bookings",
        "state = 'cancelled' OR (start_date IS NOT NULL AND (end_date IS NULL OR end_date > start_date))",
    )


def downgrade() -> None:
    op.drop_constraint("ck_unit_bookings_active_range_valid", "unit_bookings", type_="check")
    op.execute("UPDATE unit_bookings SET state = 'cancelled' WHERE end_date IS NULL")
    op.create_check_constraint(
        "ck_unit_bookings_active_range_valid",
        "unit_bookings",
        "state = 'cancelled' OR (start_date IS NOT NULL AND end_date IS NOT NULL AND end_date > start_date)",
    )
    op.drop_column("unit_bookings", "monthly_rate")
