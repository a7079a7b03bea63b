"""auth: a family may end because an admin ended the account's sessions (sign-out everywhere, or made a customer).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _reasons("'logout', 'reuse', 'password', 'admin'")


def downgrade() -> None:
    op.execute("UPDATE refresh_families SET revoked_reason = 'logout' WHERE revoked_reason = 'admin'")
    _reasons("'logout', 'reuse', 'password'")


def _reasons(allowed: str) -> None:
    op.execute("ALTER TABLE refresh_families DROP CONSTRAINT IF EXISTS ck_refresh_families_revoked_reason_known")
    op.execute(
        "ALTER TABLE refresh_families ADD CONSTRAINT ck_refresh_families_revoked_reason_known "
        f"CHECK (revoked_reason IN ({allowed}))"
    )
