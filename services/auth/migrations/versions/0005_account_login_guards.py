"""auth: an account-wide limit on unproven login attempts (every address together), and the addresses each account
has logged in from (they may still try while the account is guarded).

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
    op.create_table(
        "account_login_guards",
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("guarded_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", name="pk_account_login_guards"),
        sa.CheckConstraint("failures >= 0", name="ck_account_login_guards_failures_non_negative"),
    )
    op.create_index("ix_account_login_guards_window_started_at", "account_login_guards", ["window_started_at"])
    op.create_table(
        "known_login_addresses",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("client_ip", sa.Text, nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "client_ip", name="pk_known_login_addresses"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_known_login_addresses_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_known_login_addresses_last_success_at", "known_login_addresses", ["last_success_at"])


def downgrade() -> None:
    op.drop_table("known_login_addresses")
    op.drop_table("account_login_guards")
