"""notifications: the moment of auth's facts a recipient's contact details are (UserRegistered's or UserUpdated's
occurred_at, or when auth was asked), so that an older event, redelivered or applied out of order, no longer puts
an old phone or email back (notifications.service.remember_user). NULL on the rows of before: the next event sets it.

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
    op.add_column("recipients", sa.Column("details_as_of", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("recipients", "details_as_of")
