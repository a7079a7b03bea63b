"""Faults: each ends with nothing lost, nothing duplicated, and the system answering.

These stop and start real processes of the session's stack (NATS, PostgreSQL, a service, the Daraja
simulator) and always bring them back, so that later tests find a whole stack.
"""

from __future__ import annotations

import collections
import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from jeshstack.procs import http_ok
from jeshstack.testing import wait_for
from tests.e2e.api import Api, far_future

pytestmark = [pytest.mark.e2e, pytest.mark.fault]

PAYS = "0712345678"
NO_CALLBACK = "0712340000"  # success, but the callback never comes: only STK Push Query tells


def outbox_events(stack: Any, service: str, event_type: str) -> list[dict[str, Any]]:
    engine = create_engine(stack.database_urls[service])
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT payload FROM outbox WHERE type = :t"), {"t": event_type}).scalars()
            return [dict(r) for r in rows]
    finally:
        engine.dispose()


def count_by_booking(stack: Any, service: str, event_type: str) -> collections.Counter[Any]:
    return collections.Counter(e["data"]["booking_id"] for e in outbox_events(stack, service, event_type))


def unsent_outbox_rows(stack: Any) -> int:
    total = 0
    for service in stack.database_urls:
        engine = create_engine(stack.database_urls[service])
        try:
            with engine.connect() as conn:
                total += conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar_one()
        finally:
            engine.dispose()
    return total


def availability(api: Api, unit_id: int) -> list[dict[str, str]] | None:
    """The unit's taken ranges, or None while the gateway has not seen the restarted service healthy yet."""
    r = api.get(f"/api/units/{unit_id}/availability")
    return r.json()["data"] if r.status_code == 200 else None


def wait_all_ready(stack: Any, timeout: float = 60) -> None:
    for name, url in stack.process_urls().items():
        wait_for(lambda u=url: http_ok(f"{u}/readyz"), timeout=timeout, what=f"{name} ready")


def test_nats_outage_during_bookings_and_payments_loses_nothing(
    jesh_stack: Any, customer: Api, new_unit: Any
) -> None:
    units = [new_unit() for _ in range(3)]
    jesh_stack.nats.stop()
    try:
        # The APIs keep answering while the event bus is away: bookings are written with their events, and paid at
        # once (payments asks booking about a booking whose event has not come; the tests' holds last 8 s, so paying
        # only once the bus is back raced the reconnection), their callbacks' events kept too.
        bookings = []
        for i, unit in enumerate(units):
            r = customer.book(unit["id"], far_future(100 + i), days=30)
            assert r.status_code == 201, r.text
            bookings.append(r.json()["data"])
        for booking in bookings:
            r = customer.pay(booking["id"], PAYS)
            assert r.status_code == 200, r.text
        assert customer.get("/api/units").status_code == 200
        time.sleep(1)
        assert unsent_outbox_rows(jesh_stack) >= 3
    finally:
        jesh_stack.nats.start()
    wait_for(lambda: unsent_outbox_rows(jesh_stack) == 0, timeout=30, what="every outbox to drain")

    # Booking learns of the payments from the delayed events and confirms the bookings.
    for booking in bookings:
        customer.wait_booking(booking["id"], status="confirmed", payment_status="success")
    for unit in units:
        wait_for(lambda u=unit: customer.unit(u["id"])["status"] == "booked", timeout=15, what="unit booked")
    created = count_by_booking(jesh_stack, "booking", "BookingCreated")
    confirmed = count_by_booking(jesh_stack, "booking", "BookingConfirmed")
    for booking in bookings:
        assert created[booking["id"]] == 1 and confirmed[booking["id"]] == 1


def test_a_killed_service_resumes_its_consumer_where_it_stopped(
    jesh_stack: Any, customer: Api, admin: Api, new_unit: Any
) -> None:
    unit = new_unit()
    time.sleep(1)  # booking learns of the new unit from UnitCreated before inventory goes away
    jesh_stack.stop_process("inventory")
    try:
        booking = customer.book(unit["id"], far_future(130), days=20)
        assert booking.status_code == 201, booking.text  # booking knows the unit already
        booking_id = booking.json()["data"]["id"]
        customer.post(f"/api/bookings/{booking_id}/cancel")
    finally:
        jesh_stack.start_process("inventory")
    # Inventory consumed BookingCreated then BookingCancelled after its restart: dates free, unit available.
    wait_for(lambda: availability(customer, unit["id"]) == [], timeout=15, what="the availability after restart")
    second = customer.book(unit["id"], far_future(130), days=20)
    assert second.status_code == 201
    wait_for(lambda: availability(customer, unit["id"]) not in (None, []), timeout=15,
             what="inventory to see the new booking")


def service_cpu_seconds(stack: Any) -> dict[str, float]:
    """CPU time (user + system) each service process has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, process in stack.processes.items():
        base, _, suffix = name.rpartition("-")
        service = base if suffix.isdigit() else name
        if service not in stack.service_urls or process.proc is None or process.proc.poll() is not None:
            continue
        fields = Path(f"/proc/{process.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        used[name] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def test_postgresql_restart_answers_503_json_then_recovers(jesh_stack: Any, customer: Api) -> None:
    # Every request, during the outage and after it, answers within 5 s (an httpx timeout fails the test).
    probes = ["/api/units", "/api/bookings", "/api/transport-requests"]
    jesh_stack.postgres.stop()
    try:
        seen = []
        for _ in range(3):
            for path in probes:
                r = customer.get(path, timeout=5)
                assert r.status_code in (200, 503), (path, r.status_code, r.text)  # 200: a cached list
                seen.append(r)
            time.sleep(1)
        r = seen[-1]
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["success"] is False
    finally:
        jesh_stack.postgres.start()

    deadline = time.monotonic() + 30
    while True:
        statuses = [customer.get(path, timeout=5).status_code for path in probes]
        if statuses == [200, 200, 200]:
            break
        assert time.monotonic() < deadline, f"not recovered 30 s after PostgreSQL came back: {statuses}"
        time.sleep(0.5)
    wait_all_ready(jesh_stack)

    # Idle again, no service burns CPU (a reader left on a dead LISTEN socket spun the loop at 27-105 %).
    time.sleep(2)
    before, started = service_cpu_seconds(jesh_stack), time.monotonic()
    time.sleep(4)
    after, elapsed = service_cpu_seconds(jesh_stack), time.monotonic() - started
    busy = {name: round((after[name] - before[name]) / elapsed, 2) for name in after if name in before}
    assert busy and all(share < 0.15 for share in busy.values()), busy


def test_daraja_outage_answers_502_writes_nothing_and_reconciliation_settles_later(
    jesh_stack: Any, customer: Api, new_unit: Any
) -> None:
    unit, later_unit = new_unit(), new_unit()
    booking = customer.book(unit["id"], far_future(160), days=30).json()["data"]
    jesh_stack.stop_process("daraja-sim")
    try:
        r = customer.pay(booking["id"], PAYS)
        assert r.status_code == 502, r.text
        assert r.json()["success"] is False
        assert customer.get(f"/api/payments/status/{booking['id']}").status_code == 404  # nothing half-written
        again = customer.pay(booking["id"], PAYS)  # a push that surely never left blocks no retry (not 409)
        assert again.status_code == 502, again.text
    finally:
        jesh_stack.start_process("daraja-sim")
        wait_for(lambda: http_ok(f"{jesh_stack.simulator_url}/healthz"), timeout=20, what="simulator")

    # The callback of this push never comes; reconciliation (STK Push Query) settles it. (A new booking: the
    # first one's short test hold may be nearly over after the simulator's restart.)
    later = customer.book(later_unit["id"], far_future(165), days=30).json()["data"]
    r = customer.pay(later["id"], NO_CALLBACK)
    assert r.status_code == 200, r.text
    customer.wait_booking(later["id"], timeout=40, status="confirmed", payment_status="success")


def test_two_replicas_expire_each_hold_once_and_confirm_each_payment_once(
    jesh_stack: Any, customer: Api, new_unit: Any
) -> None:
    assert len(jesh_stack.service_urls["booking"]) == 2 and len(jesh_stack.service_urls["payments"]) == 2
    units = [new_unit() for _ in range(4)]
    expiring = [customer.book(u["id"], far_future(190), days=7).json()["data"] for u in units[:3]]
    paid = customer.book(units[3]["id"], far_future(190), days=7).json()["data"]
    assert customer.pay(paid["id"], PAYS).status_code == 200
    customer.wait_booking(paid["id"], status="confirmed")
    hold = float(jesh_stack.config.env["BOOKING_HOLD_SECONDS"])
    for b in expiring:
        customer.wait_booking(b["id"], timeout=hold + 15, status="cancelled")
    time.sleep(2)  # room for a second replica's duplicate to show up

    cancellations = outbox_events(jesh_stack, "booking", "BookingCancelled")
    cancelled = collections.Counter((e["data"]["booking_id"], e["data"]["reason"]) for e in cancellations)
    released = count_by_booking(jesh_stack, "booking", "UnitReleased")
    for b in expiring:
        assert cancelled[(b["id"], "expired")] == 1
        assert released[b["id"]] == 1
    succeeded = count_by_booking(jesh_stack, "payments", "PaymentSucceeded")
    confirmed = count_by_booking(jesh_stack, "booking", "BookingConfirmed")
    assert succeeded[paid["id"]] == 1 and confirmed[paid["id"]] == 1
