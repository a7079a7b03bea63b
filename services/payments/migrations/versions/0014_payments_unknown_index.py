"""payments: the payments whose outcome is unknown, found from an index (read at every metrics scrape: money waiting
for a person, payments.metrics) rather than by reading every payment.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_payments_unknown_created_at"), "payments", ["created_at"],
                    postgresql_where=sa.text("status = 'unknown'"))


def downgrade() -> None:
    op.drop_index(op.f("ix_payments_unknown_created_at"), table_name="payments")
