"""notifications: a reminder keeps its template's values (the JSON of held_messages.params) while it waits, so that
a customer who changes their language before it goes gets it in the new one (actions.set_preferences renders it
again). NULL: any other message (they go at once), and the reminders of before.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("params", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("notifications", "params")
