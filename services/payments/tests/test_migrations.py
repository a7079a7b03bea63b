"""Migration 0012 numbers the desk's cash receipts in a row from after every receipt already given; 0016 gives a new
result token to a Paybill payment whose token Daraja refused (tests/contracts/test_migrations.py checks the schema
against the models)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text

from jeshstack.paths import REPO


def database_at(jesh_postgres: Any, revision: str) -> tuple[Config, Engine]:
    """A new payments database migrated up to `revision`: its Alembic config and an engine."""
    url = jesh_postgres.ensure_database(f"payments_{revision}_{uuid.uuid4().hex[:8]}")
    config = Config(str(REPO / "services" / "payments" / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)
    return config, create_engine(url)


def test_0012_starts_cash_receipts_after_the_highest_one_given(jesh_postgres: Any) -> None:
    config, engine = database_at(jesh_postgres, "0011")
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


def test_0016_renews_the_result_tokens_that_daraja_refuses_and_only_those(jesh_postgres: Any) -> None:
    config, engine = database_at(jesh_postgres, "0015")
    tokens = {"RC1": "kX9_sQl-a1b2c3d4e5f6g7h8i9j0k1l2", "RC2": "zzEXEcutable_token_0123456789abcd",
              "RC3": "good_token-Ab12Cd34Ef56Gh78Ij90Kl", "RC4": "0123456789abcdef0123456789abcdef0123456789abcdef"}
    try:
        with engine.begin() as conn:
            for trans_id, token in tokens.items():
                conn.execute(text(
                    "INSERT INTO paybill_payments (trans_id, shortcode, account, amount, msisdn, paid_at, "
                    "result_token, payload) VALUES (:t, '174379', 'JESH-1', 100, '254708374149', now(), :token, "
                    "'{}')"), {"t": trans_id, "token": token})
        command.upgrade(config, "0016")
        with engine.connect() as conn:
            after = dict(conn.execute(text("SELECT trans_id, result_token FROM paybill_payments")).all())
    finally:
        engine.dispose()
    assert (after["RC3"], after["RC4"]) == (tokens["RC3"], tokens["RC4"])  # nothing refused in them: kept
    for renewed in ("RC1", "RC2"):
        assert re.fullmatch(r"[0-9a-f]{48}", after[renewed]), after
    assert after["RC1"] != after["RC2"]



def test_0017_marks_every_invoice_payment_made_before_it_applied_by_billing(jesh_postgres: Any) -> None:
    config, engine = database_at(jesh_postgres, "0016")
    try:
        with engine.begin() as conn:  # an invoice's success, its failure, and a booking's own success
            for payment_id, invoice_id, status in ((1, 5, "success"), (2, 5, "failed"), (3, None, "success")):
                conn.execute(text(
                    "INSERT INTO payments (id, booking_id, invoice_id, user_id, method, amount, status, settled_at) "
                    "OVERRIDING SYSTEM VALUE VALUES (:id, 1, :invoice, 1, 'mpesa', 100, :status, now())"),
                    {"id": payment_id, "invoice": invoice_id, "status": status})
        command.upgrade(config, "0017")
        with engine.connect() as conn:
            applied = dict(conn.execute(text("SELECT id, billing_applied_at IS NOT NULL FROM payments")).all())
    finally:
        engine.dispose()
    assert applied == {1: True, 2: False, 3: False}  # an old invoice payment never holds its invoice
