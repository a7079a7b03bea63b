"""Money through the whole stack (gateway, two payments replicas, booking, the Daraja simulator): a push whose
answer comes too late, holds too short for a prompt, refunds paid by B2C.

The slow-Daraja test restarts both payments replicas behind a delaying proxy and always puts them back.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from daraja_sim.proxy import delaying_proxy
from jeshstack.procs import free_port, http_ok
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import wait_for
from tests.e2e.api import Api, far_future

pytestmark = [pytest.mark.e2e, pytest.mark.fault]

PAYS = "0712345678"
STK_PUSH = "/mpesa/stkpush/v1/processrequest"


def payments_outbox(stack: Any, event_type: str) -> collections.Counter[Any]:
    engine = create_engine(stack.database_urls["payments"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT payload FROM outbox WHERE type = :t"), {"t": event_type}).scalars()
            return collections.Counter(dict(r)["data"]["booking_id"] for r in rows)
    finally:
        engine.dispose()


def restart_payments(stack: Any, env: dict[str, str | None]) -> None:
    for name in [n for n in stack.processes if n.split("-")[0] == "payments"]:
        process = stack.processes[name]
        process.stop()
        for key, value in env.items():
            if value is None:
                process.env.pop(key, None)
            else:
                process.env[key] = value
        stack.start_process(name)
    # the gateway routes to them again once its health checks have seen them
    wait_for(lambda: httpx.get(f"{stack.gateway_url}/api/payments/status/1", timeout=5).status_code == 401,
             timeout=30, what="the gateway to route to payments")


@pytest.fixture
def slow_daraja(jesh_stack: Any) -> Iterator[LiveServer]:
    """Both payments replicas talk to the simulator through a proxy that holds STK Push answers 5 s, with
    DARAJA_TIMEOUT_SECONDS=2: Daraja accepts the push, and payments never hears it did."""
    proxy = LiveServer(delaying_proxy(jesh_stack.simulator_url, {STK_PUSH: 5.0}), free_port())
    before = {k: jesh_stack.processes["payments"].env.get(k) for k in ("DARAJA_BASE_URL", "DARAJA_TIMEOUT_SECONDS")}
    try:
        restart_payments(jesh_stack, {"DARAJA_BASE_URL": f"http://127.0.0.1:{proxy.port}",
                                       "DARAJA_TIMEOUT_SECONDS": "2"})
        yield proxy
    finally:
        restart_payments(jesh_stack, before)
        proxy.stop()
        for name, url in jesh_stack.process_urls().items():
            wait_for(lambda u=url: http_ok(f"{u}/readyz"), timeout=60, what=f"{name} ready")


def test_a_push_accepted_after_the_timeout_charges_once_and_confirms_the_booking(
    jesh_stack: Any, slow_daraja: LiveServer, customer: Api, new_unit: Any
) -> None:
    unit = new_unit(monthly_price=3000)
    booking = customer.book(unit["id"], far_future(400), days=30).json()["data"]
    assert booking["total_price"] == 3000

    started = time.monotonic()
    r = customer.pay(booking["id"], PAYS)
    assert r.status_code == 502, r.text  # Daraja accepted it, but answered after 5 s
    assert time.monotonic() - started < 4.5
    assert r.json()["message"].startswith("M-PESA did not confirm the payment request in time")
    retry = customer.pay(booking["id"], PAYS)  # the customer tries again at once
    assert retry.status_code == 409, retry.text

    confirmed = customer.wait_booking(booking["id"], timeout=30, status="confirmed", payment_status="success")
    assert confirmed["total_price"] == 3000
    status = customer.get(f"/api/payments/status/{booking['id']}").json()["data"]
    assert status["status"] == "success" and status["amount"] == 3000 and status["transaction_code"]
    pushes = httpx.get(f"{jesh_stack.simulator_url}/simulator/transactions", timeout=10).json()["transactions"]
    mine = [t for t in pushes if t["AccountReference"] == f"JESH-{booking['id']}"]
    assert len(mine) == 1 and mine[0]["Amount"] == 3000  # charged once: 3,000 KES, not 6,000
    assert payments_outbox(jesh_stack, "PaymentSucceeded")[booking["id"]] == 1


def test_a_push_is_refused_when_the_hold_is_about_to_expire(jesh_stack: Any, customer: Api, new_unit: Any) -> None:
    hold = float(jesh_stack.config.env["BOOKING_HOLD_SECONDS"])
    unit = new_unit()
    booking = customer.book(unit["id"], far_future(410), days=10).json()["data"]
    expires = datetime.fromisoformat(booking["hold_expires_at"].replace("Z", "+00:00"))
    # less than a quarter of the hold is left: too little for a prompt (but the hold has not run out yet)
    time.sleep(max((expires - datetime.now(UTC)).total_seconds() - hold / 8, 0))
    r = customer.pay(booking["id"], PAYS)
    assert r.status_code == 409, r.text
    assert r.json()["message"].startswith("Too little time is left on this booking's hold")
    assert customer.get(f"/api/payments/status/{booking['id']}").status_code == 404


def test_an_admin_cancelling_a_paid_booking_refunds_it_by_b2c(
    jesh_stack: Any, customer: Api, admin: Api, new_unit: Any
) -> None:
    unit = new_unit(monthly_price=3000)
    booking = customer.book(unit["id"], far_future(420), days=30).json()["data"]
    assert customer.pay(booking["id"], PAYS).status_code == 200
    customer.wait_booking(booking["id"], status="confirmed")
    r = admin.post(f"/api/bookings/{booking['id']}/cancel")
    assert r.status_code == 200, r.text

    def refund() -> dict[str, Any] | None:
        rows = admin.get("/api/payments/refunds").json()["data"]
        return next((x for x in rows if x["booking_id"] == booking["id"]), None)

    required = wait_for(refund, timeout=20, what="the refund")
    assert required["status"] == "required" and required["amount"] == 3000
    assert customer.get("/api/payments/refunds").status_code == 403
    r = admin.post(f"/api/payments/refunds/{required['id']}/approve")
    assert r.status_code == 200, r.text
    paid = wait_for(lambda: (x := refund()) and x["status"] == "paid" and x, timeout=20, what="the payout")
    assert paid["receipt"]
    status = customer.get(f"/api/payments/status/{booking['id']}").json()["data"]
    assert status["refund"]["status"] == "paid" and status["refund"]["amount"] == 3000
    assert admin.post(f"/api/payments/refunds/{required['id']}/approve").status_code == 409
    assert admin.get("/api/payments/unmatched").status_code == 200
