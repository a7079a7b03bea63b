"""notifications: how a booking was paid (M-PESA or card), so that its confirmation names the right receipt.

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
    op.add_column("booking_facts", sa.Column("paid_with", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("booking_facts", "paid_with")
