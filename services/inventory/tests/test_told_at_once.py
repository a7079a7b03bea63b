"""Booking tells inventory of a booking, a cancellation or a move-out right after its commit
(POST /internal/units/{id}/booking-events): the unit's status and dates follow at once, and the same events from
the stream change nothing more."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": event_type, "version": 1, "occurred_at": datetime.now(UTC).isoformat(),
            "source": "booking", "data": data}


def tell(client: Any, unit_id: int, event_type: str, data: dict[str, Any]) -> Any:
    return client.post(f"/internal/units/{unit_id}/booking-events", json=[envelope(event_type, data)])


def state(client: Any, unit_id: int) -> tuple[str, list[dict[str, Any]]]:
    status = client.get(f"/api/units/{unit_id}").json()["data"]["status"]
    return status, client.get(f"/api/units/{unit_id}/availability").json()["data"]


def test_a_booking_and_its_cancellation_show_at_once_and_the_stream_changes_nothing(client, new_unit, bookings,
                                                                                    today):
    unit = new_unit()
    start, end = today + timedelta(days=3), today + timedelta(days=10)
    held = bookings.data(70, unit["id"], start, end, total_price=3000,
                         hold_expires_at=(datetime.now(UTC) + timedelta(seconds=900)).isoformat())
    listed = client.get("/api/units", params={"status": "available"}).json()["data"]  # cached now
    assert unit["id"] in [u["id"] for u in listed]

    r = tell(client, unit["id"], "BookingCreated", held)
    assert r.status_code == 200, r.text
    assert r.json() == {"applied": 1}
    assert state(client, unit["id"]) == ("booked", [{"start_date": start.isoformat(), "end_date": end.isoformat()}])
    listed = client.get("/api/units", params={"status": "available"}).json()["data"]
    assert unit["id"] not in [u["id"] for u in listed]  # this replica's cached list was dropped

    cancelled = bookings.data(70, unit["id"], start, end, reason="user")
    assert tell(client, unit["id"], "BookingCancelled", cancelled).status_code == 200
    assert state(client, unit["id"]) == ("available", [])

    bookings.created(70, unit["id"], start, end)  # the stream's copies, later: a cancelled booking stays cancelled
    bookings.cancelled(70, unit["id"], start, end)
    assert state(client, unit["id"]) == ("available", [])


def test_a_move_out_frees_the_later_dates_at_once(client, new_unit, bookings, today):
    unit = new_unit()
    start = today + timedelta(days=1)
    bookings.publish("BookingConfirmed", {**bookings.data(71, unit["id"], start, start, total_price=3000),
                                          "end_date": None, "plan": "monthly", "monthly_rate": 3000})
    moved = {"booking_id": 71, "user_id": 42, "unit_id": unit["id"], "move_out_date": (start + timedelta(days=30))
             .isoformat()}
    assert tell(client, unit["id"], "BookingMovedOut", moved).json() == {"applied": 1}
    assert state(client, unit["id"])[1] == [{"start_date": start.isoformat(),
                                             "end_date": (start + timedelta(days=30)).isoformat()}]
    unknown = {**moved, "booking_id": 72}  # not heard of yet: left to the stream
    assert tell(client, unit["id"], "BookingMovedOut", unknown).json() == {"applied": 0}


@pytest.mark.parametrize("change", [
    lambda e: e.update(type="UnitUpdated"),
    lambda e: e["data"].update(unit_id=e["data"]["unit_id"] + 1),
    lambda e: e["data"].pop("start_date"),
    lambda e: e.update(id="not-a-uuid"),
])
def test_anything_but_this_units_booking_events_is_400_and_changes_nothing(client, new_unit, bookings, today, change):
    unit = new_unit()
    event = envelope("BookingCreated", bookings.data(
        73, unit["id"], today + timedelta(days=1), today + timedelta(days=2), total_price=3000,
        hold_expires_at=(datetime.now(UTC) + timedelta(seconds=900)).isoformat()))
    change(event)
    r = client.post(f"/internal/units/{unit['id']}/booking-events", json=[event])
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False
    assert state(client, unit["id"]) == ("available", [])


def test_a_unit_created_or_changed_is_told_to_booking_at_once(start_inventory, admin):
    """Booking prices and allows a booking by its copy of the unit: inventory sends it the UnitCreated / UnitUpdated
    it staged right after the commit (POST /internal/units/{id}/unit-events on BOOKING_URL), the same envelopes the
    stream carries; a change that changes nothing tells nothing, and booking away is no failure of the admin's act."""
    from fastapi import FastAPI

    from jeshstack.procs import free_port
    from jeshstack.pytest_plugin import LiveServer

    told: list[tuple[int, dict[str, Any]]] = []
    booking = FastAPI()

    @booking.post("/internal/units/{unit_id}/unit-events")
    def unit_events(unit_id: int, envelopes: list[dict[str, Any]]) -> dict[str, int]:
        told.extend((unit_id, e) for e in envelopes)
        return {"applied": len(envelopes)}

    server = LiveServer(booking, free_port())
    try:
        client = start_inventory(booking_url=f"http://127.0.0.1:{server.port}")
        created = client.post("/api/units", json={"unit_number": f"T-{uuid.uuid4().hex[:6]}", "size": "small",
                                                  "dimensions": "2x2 m", "monthly_price": 3000}, headers=admin)
        assert created.status_code == 201, created.text
        unit_id = created.json()["data"]["id"]
        assert [(n, e["type"], e["data"]["monthly_price"], e["data"]["bookable"]) for n, e in told] == [
            (unit_id, "UnitCreated", 3000, True)]

        changed = client.put(f"/api/units/{unit_id}", json={"status": "maintenance", "monthly_price": 4500},
                             headers=admin)
        assert changed.status_code == 200, changed.text
        assert [(e["type"], e["data"]["monthly_price"], e["data"]["bookable"]) for _, e in told[1:]] == [
            ("UnitUpdated", 4500, False)]
        assert {"id", "type", "version", "occurred_at", "source", "data"} <= set(told[1][1])
        assert client.put(f"/api/units/{unit_id}", json={"monthly_price": 4500}, headers=admin).status_code == 200
        assert len(told) == 2  # nothing changed: nothing staged, nothing told
    finally:
        server.stop()

    # Booking away: the admin's change stands (the stream tells booking later).
    away = start_inventory(booking_url=f"http://127.0.0.1:{free_port()}")
    r = away.put(f"/api/units/{unit_id}", json={"monthly_price": 5000}, headers=admin)
    assert r.status_code == 200 and r.json()["data"]["monthly_price"] == 5000
