"""auth: an operator may erase the personal data of a closed customer account (Kenya's Data Protection Act, s.40).

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
    op.add_column("users", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f("ck_users_erased_closed"), "users", "erased_at IS NULL OR closed_at IS NOT NULL")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_users_erased_closed"), "users", type_="check")
    op.drop_column("users", "erased_at")
