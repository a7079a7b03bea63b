"""Migration 0004 makes gate codes unique for good, 0007 keeps invoice numbers whole past a million
(tests/contracts/test_migrations.py checks the schema against the models)."""

from __future__ import annotations

import uuid
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from jeshstack.paths import REPO


def billing_at(jesh_postgres: Any, revision: str) -> tuple[Config, str]:
    """A fresh billing database migrated to `revision`: its Alembic config and URL."""
    url = jesh_postgres.ensure_database(f"billing_{revision}_{uuid.uuid4().hex[:8]}")
    config = Config(str(REPO / "services" / "billing" / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)
    return config, url


def test_0004_redraws_the_codes_ended_rentals_share_and_keeps_the_holders(jesh_postgres: Any):
    config, url = billing_at(jesh_postgres, "0003")
    engine = create_engine(url)
    # 1 active and 2 ended share 111111 (the active one keeps it); 4 and 5, both ended, share 222222 (4 keeps it).
    rentals = [(1, "active", "111111"), (2, "ended", "111111"), (3, "ended", "111111"), (4, "ended", "222222"),
               (5, "ended", "222222"), (6, "ended", "333333")]
    try:
        with engine.begin() as conn:
            for booking_id, status, code in rentals:
                conn.execute(text(
                    "INSERT INTO rentals (booking_id, user_id, unit_id, monthly_rate, start_date, billing_day,"
                    " next_period_start, as_of, status, gate_code) VALUES (:b, 1, :b, 1000, '2030-01-01', 1,"
                    " '2030-02-01', '2029-12-31', :s, :c)"), {"b": booking_id, "s": status, "c": code})
        command.upgrade(config, "0004")
        with engine.connect() as conn:
            codes = dict(conn.execute(text("SELECT booking_id, gate_code FROM rentals")).all())
            indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'rentals'")).scalars())
        assert (codes[1], codes[4], codes[6]) == ("111111", "222222", "333333")
        assert len(set(codes.values())) == 6 and all(len(c) == 6 and c.isdigit() for c in codes.values())
        assert "uq_rentals_gate_code" in indexes and "uq_rentals_active_gate_code" not in indexes
        command.downgrade(config, "0003")
    finally:
        engine.dispose()


def test_invoice_numbers_keep_six_digits_and_every_digit_past_a_million(jesh_postgres: Any):
    _, url = billing_at(jesh_postgres, "head")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            default = conn.execute(text(
                "SELECT column_default FROM information_schema.columns"
                " WHERE table_name = 'invoices' AND column_name = 'number'")).scalar_one()
            numbers = [conn.execute(text(f"SELECT {default}")).scalar_one()]
            conn.execute(text("SELECT setval('invoice_numbers', 999998)"))
            numbers += [conn.execute(text(f"SELECT {default}")).scalar_one() for _ in range(3)]
        assert numbers == ["INV-000001", "INV-999999", "INV-1000000", "INV-1000001"]
    finally:
        engine.dispose()
