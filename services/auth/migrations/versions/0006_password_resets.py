"""auth: password resets by emailed link (only the token's hash is kept); a family may end because the password
changed.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "password_resets",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_password_resets"),
        sa.UniqueConstraint("token_hash", name="uq_password_resets_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_password_resets_user_id_users", ondelete="CASCADE"),
    )
    op.create_index("ix_password_resets_user_id", "password_resets", ["user_id"])
    op.create_index("ix_password_resets_expires_at", "password_resets", ["expires_at"])
    _reasons("'logout', 'reuse', 'password'")


def downgrade() -> None:
    op.execute("UPDATE refresh_families SET revoked_reason = 'logout' WHERE revoked_reason = 'password'")
    _reasons("'logout', 'reuse'")
    op.drop_table("password_resets")


def _reasons(allowed: str) -> None:
    # 0001 created it under a doubled name (the naming convention applied to a name that had it already).
    for name in ("ck_refresh_families_ck_refresh_families_revoked_reason_known",
                 "ck_refresh_families_revoked_reason_known"):
        op.execute(f"ALTER TABLE refresh_families DROP CONSTRAINT IF EXISTS {name}")
    op.execute(
        "ALTER TABLE refresh_families ADD CONSTRAINT ck_refresh_families_revoked_reason_known "
        f"CHECK (revoked_reason IN ({allowed}))"
    )
