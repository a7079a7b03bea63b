"""payments: a cash movement recorded by mistake (a banking typed 50,000 for 5,000) is reversed, never edited: the
reversal is a movement of its own that `reverses` the first, with the opposite amount, at most one per movement.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cash_movements", sa.Column("reverses", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_cash_movements_reverses_cash_movements"), "cash_movements", "cash_movements",
                          ["reverses"], ["id"])
    op.create_index(op.f("uq_cash_movements_reverses"), "cash_movements", ["reverses"], unique=True)
    # 0011 created it under a doubled name (the naming convention applied to a name that had it already).
    for name in ("ck_cash_movements_ck_cash_movements_amount_positive", "ck_cash_movements_amount_positive"):
        op.execute(f"ALTER TABLE cash_movements DROP CONSTRAINT IF EXISTS {name}")
    op.create_check_constraint(
        op.f("ck_cash_movements_amount_signed"), "cash_movements",
        "(reverses IS NULL AND amount > 0) OR (reverses IS NOT NULL AND amount < 0)")


def downgrade() -> None:
    op.execute("DELETE FROM cash_movements WHERE reverses IS NOT NULL")
    op.drop_constraint(op.f("ck_cash_movements_amount_signed"), "cash_movements", type_="check")
    op.create_check_constraint(op.f("ck_cash_movements_amount_positive"), "cash_movements", "amount > 0")
    op.drop_index(op.f("uq_cash_movements_reverses"), table_name="cash_movements")
    op.drop_constraint(op.f("fk_cash_movements_reverses_cash_movements"), "cash_movements", type_="foreignkey")
    op.drop_column("cash_movements", "reverses")
