"""booking: monthly rentals (plan, monthly_rate, open-ended end_date).

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
    op.add_column("bookings", sa.Column("plan", sa.Text(), server_default=sa.text("'fixed'"), nullable=False))
    op.add_column("bookings", sa.Column("monthly_rate", sa.BigInteger(), nullable=True))
    # NULL: an open-ended monthly rental. The exclusion constraint reads daterange(start, NULL) as
    # [start, infinity), and the CHECK end_date > start_date lets NULL through.
    op.alter_column("bookings", "end_date", existing_type=sa.Date(), nullable=True)
    op.create_check_constraint("ck_bookings_plan_known", "bookings", "plan IN ('fixed', 'monthly')")
    op.create_check_constraint(
        "ck_bookings_plan_fields",
        "bookings",
        "(plan = 'fixed' AND end_date IS NOT NULL) OR (plan = 'monthly' AND monthly_rate IS NOT NULL)",
    )


def downgrade() -> None:
    op.drop_constraint("ck_bookings_plan_fields", "bookings", type_="check")
    op.drop_constraint("ck_bookings_plan_known", "bookings", type_="check")
    op.execute("DELETE FROM bookings WHERE end_date IS NULL")
    op.alter_column("bookings", "end_date", existing_type=sa.Date(), nullable=False)
    op.drop_column("bookings", "monthly_rate")
    op.drop_column("bookings", "plan")
