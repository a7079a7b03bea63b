"""Money through the whole stack (gateway, two payments replicas, booking, the Daraja simulator): a push whose
answer comes too late, holds too short for a prompt, refunds paid by B2C, a push M-PESA never settles, a lock storm
under a PaymentSucceeded.

The slow-Daraja test restarts both payments replicas behind a delaying proxy, TestShortBounds restarts payments and
booking with short bounds; both always put them back.
"""

from __future__ import annotations

import collections
import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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


# A path of each service that answers 401 without a token once the gateway routes to it again.
PROBES = {"payments": "/api/payments/status/1", "booking": "/api/bookings/1"}


def restart_payments(stack: Any, env: dict[str, str | None]) -> None:
    restart_services(stack, {"payments": env})


def restart_services(stack: Any, envs: dict[str, dict[str, str | None]]) -> None:
    """Restart every replica of each service with its environment changed (None: unset): all stopped, then all
    started at once, then each waited for (one after the other took a few seconds each)."""
    names = [n for n in stack.processes if n.split("-")[0] in envs]
    for name in names:
        process = stack.processes[name]
        process.stop()
        for key, value in envs[name.split("-")[0]].items():
            if value is None:
                process.env.pop(key, None)
            else:
                process.env[key] = value
    for name in names:
        stack.start_process(name, wait=False)
    urls = stack.process_urls()
    for name in names:
        wait_for(lambda u=urls[name]: http_ok(f"{u}/readyz"), timeout=60, what=f"{name} ready", tolerate=(Exception,))
    # the gateway routes to them again once its health checks have seen them
    for service in envs:
        wait_for(lambda s=service: httpx.get(f"{stack.gateway_url}{PROBES[s]}", timeout=5).status_code == 401,
                 timeout=30, what=f"the gateway to route to {service}")


def wait_all_ready(stack: Any) -> None:
    for name, url in stack.process_urls().items():
        wait_for(lambda u=url: http_ok(f"{u}/readyz"), timeout=60, what=f"{name} ready")


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
        wait_all_ready(jesh_stack)


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


def test_an_invoice_paid_a_moment_ago_is_not_charged_again(
    jesh_stack: Any, customer: Api, admin: Api, new_unit: Any
) -> None:
    from billing.rules import anniversary
    from jeshkit.clock import nairobi_today
    from tests.e2e.test_billing import LEAD, advance, invoices, wait_rental
    from tests.e2e.test_card import rent

    unit = new_unit(monthly_price=4200)
    start = nairobi_today() + timedelta(days=2)
    booking = rent(customer, unit, start)
    wait_rental(customer, booking["id"])
    # the first payment has paid invoice 1 (else billing would put the next payment there, oldest first)
    wait_for(lambda: invoices(customer, booking["id"])[0]["status"] == "paid", timeout=20, what="invoice 1 paid")
    advance(admin, booking["id"], anniversary(start, 1, start.day) - timedelta(days=LEAD))  # invoice 2 is issued
    second = invoices(customer, booking["id"])[1]
    assert (second["status"], second["balance"]) == ("open", 4200)
    pay = {"phone_number": PAYS}
    first = customer.post(f"/api/invoices/{second['id']}/pay", pay)
    assert first.status_code == 200, first.text

    # The customer sees the payment succeed (the status they poll) and presses pay again at once: billing may not
    # have applied the money yet, but it is paid, and nobody is charged twice.
    wait_for(lambda: customer.get(f"/api/payments/status/{booking['id']}").json()["data"]["status"] == "success",
             timeout=20, interval=0.02, what="the invoice's payment to succeed")
    again = customer.post(f"/api/invoices/{second['id']}/pay", pay)
    assert again.status_code == 409 and again.json()["message"] == "Invoice is already paid", again.text
    wait_for(lambda: customer.get(f"/api/invoices/{second['id']}").json()["data"]["status"] == "paid", timeout=20,
             what="billing to apply it")
    assert customer.post(f"/api/invoices/{second['id']}/pay", pay).status_code == 409
    paid = [p for p in admin.get("/api/payments", params={"booking_id": booking["id"]}).json()["data"]
            if p["invoice_id"] == second["id"]]
    assert [(p["amount"], p["status"]) for p in paid] == [(4200, "success")]

    # Once billing has applied it, the next invoice is paid as usual.
    advance(admin, booking["id"], anniversary(start, 2, start.day) - timedelta(days=LEAD))
    third = invoices(customer, booking["id"])[2]
    assert (third["status"], third["balance"]) == ("open", 4200)
    assert customer.post(f"/api/invoices/{third['id']}/pay", pay).status_code == 200


# Reconciliation gives up after 3 queries 1, 2 and 4 s apart; booking's consumer parks a failing event after 2
# deliveries unless the failure is transient (then only CONSUMER_RETRY_SECONDS, a day, bounds it); holds last long
# enough for the tests to look at a booking still pending.
SHORT_BOUNDS: dict[str, dict[str, str | None]] = {
    "payments": {"RECONCILE_INTERVAL_SECONDS": "1", "PAYMENT_RECONCILE_MAX_ATTEMPTS": "3",
                 "BOOKING_HOLD_SECONDS": "300"},
    "booking": {"BOOKING_HOLD_SECONDS": "300", "CONSUMER_MAX_DELIVERIES": "2", "DB_STATEMENT_TIMEOUT_MS": "2000"},
}
MAX_CHECKS, MAX_DELIVERIES = 3, 2


@pytest.fixture(scope="class")
def short_bounds(jesh_stack: Any) -> Iterator[None]:
    before = {service: {k: jesh_stack.processes[service].env.get(k) for k in env}
              for service, env in SHORT_BOUNDS.items()}
    try:
        restart_services(jesh_stack, SHORT_BOUNDS)
        yield
    finally:
        restart_services(jesh_stack, before)
        wait_all_ready(jesh_stack)


def processing_phone(stack: Any) -> Iterator[str]:
    """A fresh phone the simulator keeps "being processed" (no callback, the query says so) until released."""
    phone = f"2547{secrets.randbelow(10**8):08d}"
    while phone[-4:] in ("1032", "1037", "0001", "2001", "0000"):
        phone = f"2547{secrets.randbelow(10**8):08d}"
    assert httpx.post(f"{stack.simulator_url}/simulator/phones/{phone}/processing", timeout=10).status_code == 200
    try:
        yield phone
    finally:
        httpx.post(f"{stack.simulator_url}/simulator/phones/{phone}/release", timeout=10)


@pytest.fixture
def held_phone(jesh_stack: Any) -> Iterator[str]:
    yield from processing_phone(jesh_stack)


def admin_payments(admin: Api, booking_id: int, status: str | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"booking_id": booking_id, **({"status": status} if status else {})}
    r = admin.get("/api/payments", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


@pytest.mark.usefixtures("short_bounds")
class TestShortBounds:
    def test_a_push_mpesa_never_settles_is_parked_unknown_keeps_the_booking_and_an_admin_requery_settles_it(
        self, jesh_stack: Any, customer: Api, admin: Api, new_unit: Any, held_phone: str
    ) -> None:
        unit = new_unit(monthly_price=3000)
        booking = customer.book(unit["id"], far_future(430), days=30).json()["data"]
        r = customer.pay(booking["id"], held_phone)
        assert r.status_code == 200, r.text
        payment_id = r.json()["data"]["payment_id"]

        # no callback, and every STK Push Query says "still processing": queried with backoff, then parked
        parked = wait_for(lambda: admin_payments(admin, booking["id"], "unknown"), timeout=60,
                          what="the payment parked as unknown")
        assert [p["id"] for p in parked] == [payment_id]
        assert parked[0]["check_attempts"] == MAX_CHECKS
        assert f"after {MAX_CHECKS} checks; parked as unknown" in parked[0]["discrepancy"]
        checkout = parked[0]["checkout_request_id"]
        assert checkout and httpx.get(f"{jesh_stack.simulator_url}/simulator/transactions/{checkout}",
                                      timeout=10).json()["status"] == "pending"

        # the customer still sees it pending, and M-PESA never said it failed: no second push, by either method
        assert customer.get(f"/api/payments/status/{booking['id']}").json()["data"]["status"] == "pending"
        again = customer.pay(booking["id"], PAYS)
        assert again.status_code == 409, again.text
        assert again.json()["message"] == "A payment is already in progress for this booking"
        assert customer.post("/api/payments/card/initiate", {"booking_id": booking["id"]}).status_code == 409
        assert customer.booking(booking["id"])["status"] == "pending"
        assert payments_outbox(jesh_stack, "PaymentFailed")[booking["id"]] == 0

        # an admin asks again: still processing, still unknown; once M-PESA knows (the payer cancelled), it settles
        requery = f"/api/payments/admin/unknown/{payment_id}/requery"
        assert customer.post(requery).status_code == 403
        r = admin.post(requery)
        assert r.status_code == 200 and r.json()["data"]["status"] == "unknown", r.text
        release = httpx.post(f"{jesh_stack.simulator_url}/simulator/phones/{held_phone}/release",
                             json={"ResultCode": 1032}, timeout=10)
        assert release.json()["settled"] == [checkout]
        r = admin.post(requery)
        assert r.status_code == 200 and r.json()["data"]["status"] == "failed", r.text
        assert admin.post(requery).status_code == 409
        # Daraja said the first push failed: the booking may be paid again
        customer.wait_booking(booking["id"], status="pending", payment_status="failed")
        assert customer.pay(booking["id"], PAYS).status_code == 200
        customer.wait_booking(booking["id"], status="confirmed", payment_status="success")

    def test_a_lock_storm_longer_than_the_retry_count_parks_no_payment(
        self, jesh_stack: Any, customer: Api, new_unit: Any
    ) -> None:
        unit = new_unit()
        booking = customer.book(unit["id"], far_future(440), days=10).json()["data"]
        engine = create_engine(jesh_stack.database_urls["booking"])
        try:
            with engine.connect() as storm:  # holds the booking's row: every delivery times out on its lock
                storm.execute(text("SELECT id FROM bookings WHERE id = :id FOR UPDATE"), {"id": booking["id"]})
                assert customer.pay(booking["id"], PAYS).status_code == 200
                event_id = wait_for(lambda: payment_succeeded_id(jesh_stack, booking["id"]), timeout=20,
                                    what="PaymentSucceeded")
                wait_for(lambda: booking_deliveries(jesh_stack, event_id) > MAX_DELIVERIES, timeout=40,
                         what=f"more than {MAX_DELIVERIES} deliveries of PaymentSucceeded")
                assert customer.booking(booking["id"])["status"] == "pending"
                storm.rollback()
            customer.wait_booking(booking["id"], timeout=30, status="confirmed", payment_status="success")
            with engine.connect() as conn:
                parked = conn.execute(text("SELECT count(*) FROM dead_letter WHERE event_id = :id"),
                                      {"id": event_id}).scalar_one()
            assert parked == 0
        finally:
            engine.dispose()


def payment_succeeded_id(stack: Any, booking_id: int) -> str | None:
    engine = create_engine(stack.database_urls["payments"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT payload FROM outbox WHERE type = 'PaymentSucceeded'")).scalars()
            return next((str(p["id"]) for p in rows if p["data"]["booking_id"] == booking_id), None)
    finally:
        engine.dispose()


def booking_deliveries(stack: Any, event_id: str) -> int:
    """How many times booking's consumer has failed on the event so far, by its logs (both replicas)."""
    pattern = re.compile(re.escape(event_id) + r" \(PaymentSucceeded, delivery (\d+)")
    seen = [0]
    for log in Path(stack.log_dir).glob("booking*.log"):
        seen += [int(n) for n in pattern.findall(log.read_text(errors="replace"))]
    return max(seen)
