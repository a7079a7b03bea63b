"""billing: a gate code is never given to another rental, ended ones included (it was unique among active rentals
only: an ended rental's former tenant, who saw the code in the portal, could open the unit of a new rental given it).

Ended rentals that share a code with another rental get a fresh one first (their code opens nothing any more); the
earliest holder of a code keeps it.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_REDRAW_SHARED_CODES = """
DO $$
BEGIN
    LOOP
        UPDATE rentals r SET gate_code = lpad(floor(random() * 1000000)::int::text, 6, '0')
        WHERE r.status = 'ended' AND EXISTS (
            SELECT 1 FROM rentals o
            WHERE o.gate_code = r.gate_code AND o.booking_id <> r.booking_id
              AND (o.status = 'active' OR o.booking_id < r.booking_id)
        );
        EXIT WHEN NOT FOUND;
    END LOOP;
END $$;
"""


def upgrade() -> None:
    op.execute(_REDRAW_SHARED_CODES)
    op.create_index("uq_rentals_gate_code", "rentals", ["gate_code"], unique=True)
    op.drop_index("uq_rentals_active_gate_code", table_name="rentals")


def downgrade() -> None:
    op.create_index("uq_rentals_active_gate_code", "rentals", ["gate_code"], unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.drop_index("uq_rentals_gate_code", table_name="rentals")
