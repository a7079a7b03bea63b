"""Inventory's consumer announces the events it applied (jeshkit.applied) only once the unit shows them, cached lists
dropped: a booking request that waited for the announcement is followed by reads that show it. And an admin's unit
change answers once booking has applied it."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from jeshstack.testing import wait_for

DELAY = 0.3  # how long the stand-in for booking's consumer takes to apply an event


def state(client: Any, unit_id: int) -> tuple[str, list[dict[str, Any]]]:
    status = client.get(f"/api/units/{unit_id}").json()["data"]["status"]
    return status, client.get(f"/api/units/{unit_id}/availability").json()["data"]


def available(client: Any) -> list[int]:
    return [u["id"] for u in client.get("/api/units", params={"status": "available"}).json()["data"]]


def test_a_booking_and_its_cancellation_are_announced_once_the_unit_shows_them(client, new_unit, bookings,
                                                                                event_bus, today):
    unit = new_unit()
    start, end = today + timedelta(days=3), today + timedelta(days=10)
    assert unit["id"] in available(client)  # cached now
    announced = event_bus.announcements("inventory")
    try:
        held = bookings.created(70, unit["id"], start, end, wait=False)
        wait_for(lambda: held["id"] in announced.heard, what="inventory to announce the booking applied")
        # Read at the moment of the announcement, as the request that waited for it answers: no wait for the NOTIFY.
        assert state(client, unit["id"]) == ("booked", [{"start_date": start.isoformat(),
                                                         "end_date": end.isoformat()}])
        assert unit["id"] not in available(client)  # the cached list was dropped (kit: after_applied, then announced)

        again = bookings.publish("BookingCreated", held["data"], event_id=held["id"], dedupe=False, wait=False)
        wait_for(lambda: announced.heard.count(again["id"]) == 2, what="the copy announced, found applied")

        cancelled = bookings.cancelled(70, unit["id"], start, end, wait=False)
        released = bookings.released(70, unit["id"], start, end, wait=False)
        wait_for(lambda: {cancelled["id"], released["id"]} <= set(announced.heard), what="the cancellation announced")
        assert state(client, unit["id"]) == ("available", [])
        assert unit["id"] in available(client)
    finally:
        announced.stop()


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_unit_created_or_changed_answers_once_booking_has_applied_it(client, admin, event_bus, booking_applies):
    """Booking prices and allows a booking by its copy of the unit: the admin's answer waits until booking announces
    the UnitCreated / UnitUpdated applied; a change that changes nothing waits for nothing; booking away holds the
    answer a second at most."""
    booking_applies.silent = True
    booking = event_bus.stand_in_applied("booking", ["UnitCreated", "UnitUpdated"], delay=DELAY)
    try:
        number = f"T-{uuid.uuid4().hex[:6]}"
        created, took = timed(lambda: client.post("/api/units", headers=admin, json={
            "unit_number": number, "size": "small", "dimensions": "2x2 m", "monthly_price": 3000}))
        assert created.status_code == 201 and DELAY <= took < 1.0, (created.text, took)
        unit_id = created.json()["data"]["id"]
        assert [(e["type"], e["data"]["unit_id"], e["data"]["monthly_price"], e["data"]["bookable"])
                for e in booking.heard] == [("UnitCreated", unit_id, 3000, True)]

        changed, took = timed(lambda: client.put(f"/api/units/{unit_id}", headers=admin,
                                                 json={"status": "maintenance", "monthly_price": 4500}))
        assert changed.status_code == 200 and DELAY <= took < 1.0, (changed.text, took)
        assert [(e["type"], e["data"]["monthly_price"], e["data"]["bookable"]) for e in booking.heard[1:]] == [
            ("UnitUpdated", 4500, False)]
        assert booking.heard[1]["id"] in [e["id"] for e in event_bus.events("UnitUpdated")]  # the stream's envelope

        same, took = timed(lambda: client.put(f"/api/units/{unit_id}", json={"monthly_price": 4500}, headers=admin))
        assert same.status_code == 200 and took < DELAY and len(booking.heard) == 2  # nothing changed, nothing sent
    finally:
        booking.stop()

    # Booking away: the admin's change stands, answered after a second (the stream tells booking later).
    r, took = timed(lambda: client.put(f"/api/units/{unit_id}", json={"monthly_price": 5000}, headers=admin))
    assert r.status_code == 200 and r.json()["data"]["monthly_price"] == 5000
    assert 1.0 <= took < 2.0
