"""Migration 0012 numbers the desk's cash receipts in a row from after every receipt already given
(tests/contracts/test_migrations.py checks the schema against the models)."""

from __future__ import annotations

import uuid
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from jeshstack.paths import REPO


def test_0012_starts_cash_receipts_after_the_highest_one_given(jesh_postgres: Any) -> None:
    url = jesh_postgres.ensure_database(f"payments_0011_{uuid.uuid4().hex[:8]}")
    config = Config(str(REPO / "services" / "payments" / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0011")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:  # receipts were CASH-<payment id>: cash 7 and 8, then an M-PESA payment 9
            for payment_id, method in ((7, "cash"), (8, "cash"), (9, "mpesa")):
                conn.execute(text(
                    "INSERT INTO payments (id, booking_id, user_id, method, amount, status, receipt) OVERRIDING SYSTEM "
                    "VALUE VALUES (:id, 1, 1, :m, 100, 'success', :r)"), {"id": payment_id, "m": method,
                                                                          "r": f"CASH-{payment_id:06d}"})
        command.upgrade(config, "0012")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, last FROM cash_receipt_numbers")).all() == [(1, 8)]
        with engine.begin() as conn:  # no cash payment yet: the first receipt is CASH-000001
            conn.execute(text("DELETE FROM payments WHERE method = 'cash'"))
        command.downgrade(config, "0011")
        command.upgrade(config, "0012")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT last FROM cash_receipt_numbers")).scalar_one() == 0
    finally:
        engine.dispose()
