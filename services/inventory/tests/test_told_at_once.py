"""Booking tells inventory of a booking, a cancellation or a move-out right after its commit (jeshkit.told, a NATS
request): the unit's status and dates follow at once, and the stream's copy of the same event is not applied again
(the consumer's inbox). Inventory tells booking of an admin's unit change the same way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": event_type, "version": 1, "occurred_at": datetime.now(UTC).isoformat(),
            "source": "booking", "data": data}


def state(client: Any, unit_id: int) -> tuple[str, list[dict[str, Any]]]:
    status = client.get(f"/api/units/{unit_id}").json()["data"]["status"]
    return status, client.get(f"/api/units/{unit_id}/availability").json()["data"]


def upserts_of(service_db: Any, booking_id: int) -> Any:
    with service_db.connect() as conn:
        return conn.execute(text("SELECT updated_at FROM unit_bookings WHERE booking_id = :id"),
                            {"id": booking_id}).scalar()


def test_a_booking_and_its_cancellation_show_at_once_and_the_streams_copy_is_not_applied_again(
        client, new_unit, bookings, event_bus, service_db, today):
    unit = new_unit()
    start, end = today + timedelta(days=3), today + timedelta(days=10)
    held = envelope("BookingCreated", bookings.data(
        70, unit["id"], start, end, total_price=3000,
        hold_expires_at=(datetime.now(UTC) + timedelta(seconds=900)).isoformat()))
    listed = client.get("/api/units", params={"status": "available"}).json()["data"]  # cached now
    assert unit["id"] in [u["id"] for u in listed]

    assert event_bus.tell("inventory", [held]) == {"applied": 1}
    assert state(client, unit["id"]) == ("booked", [{"start_date": start.isoformat(), "end_date": end.isoformat()}])
    listed = client.get("/api/units", params={"status": "available"}).json()["data"]
    assert unit["id"] not in [u["id"] for u in listed]  # the cached list was dropped before the answer
    applied_at = upserts_of(service_db, 70)

    bookings.publish("BookingCreated", held["data"], event_id=held["id"])  # the stream's copy: the inbox has it
    assert upserts_of(service_db, 70) == applied_at
    assert event_bus.tell("inventory", [held]) == {"applied": 0}

    cancelled = envelope("BookingCancelled", bookings.data(70, unit["id"], start, end, reason="user"))
    released = envelope("UnitReleased", {**bookings.data(70, unit["id"], start, end, reason="user")})
    released["data"].pop("user_id")
    # With an event inventory does not consume, passed over.
    paid = envelope("RefundRequired", {"booking_id": 70})
    assert event_bus.tell("inventory", [cancelled, released, paid]) == {"applied": 2}
    assert state(client, unit["id"]) == ("available", [])
    bookings.created(70, unit["id"], start, end)  # a late copy under another id: a cancelled booking stays cancelled
    assert state(client, unit["id"]) == ("available", [])


def test_a_move_out_frees_the_later_dates_at_once(client, new_unit, bookings, event_bus, today):
    unit = new_unit()
    start = today + timedelta(days=1)
    bookings.publish("BookingConfirmed", {**bookings.data(71, unit["id"], start, start, total_price=3000),
                                          "end_date": None, "plan": "monthly", "monthly_rate": 3000})
    moved = {"booking_id": 71, "user_id": 42, "unit_id": unit["id"], "move_out_date": (start + timedelta(days=30))
             .isoformat()}
    assert event_bus.tell("inventory", [envelope("BookingMovedOut", moved)]) == {"applied": 1}
    assert state(client, unit["id"])[1] == [{"start_date": start.isoformat(),
                                             "end_date": (start + timedelta(days=30)).isoformat()}]
    unknown = envelope("BookingMovedOut", {**moved, "booking_id": 72})  # not heard of yet: left to the stream
    assert event_bus.tell("inventory", [unknown]) == {"applied": 0}
    bookings.publish("BookingConfirmed", {**bookings.data(72, unit["id"], start + timedelta(days=40),
                                                          start + timedelta(days=40), total_price=3000),
                                          "end_date": None, "plan": "monthly", "monthly_rate": 3000})
    bookings.publish("BookingMovedOut", unknown["data"], event_id=unknown["id"])  # the stream's copy applies it
    assert {"start_date": (start + timedelta(days=40)).isoformat(), "end_date": (start + timedelta(days=30)).isoformat()
            } not in state(client, unit["id"])[1]


@pytest.mark.parametrize("change", [
    lambda e: e["data"].pop("start_date"),
    lambda e: e.update(id="not-a-uuid"),
    lambda e: e.pop("data"),
])
def test_a_malformed_event_is_refused_and_changes_nothing(client, new_unit, bookings, event_bus, today, change):
    unit = new_unit()
    good = envelope("BookingCreated", bookings.data(
        73, unit["id"], today + timedelta(days=1), today + timedelta(days=2), total_price=3000,
        hold_expires_at=(datetime.now(UTC) + timedelta(seconds=900)).isoformat()))
    bad = envelope("BookingCreated", dict(good["data"]))
    change(bad)
    assert "error" in event_bus.tell("inventory", [good, bad])  # nothing of the request is applied
    assert state(client, unit["id"]) == ("available", [])


def test_a_unit_created_or_changed_is_told_to_booking_at_once(client, admin, event_bus):
    """Booking prices and allows a booking by its copy of the unit: inventory tells it the UnitCreated / UnitUpdated
    its commit kept, the same envelopes the stream carries; a change that changes nothing tells nothing, and booking
    away is no failure of the admin's act."""
    booking = event_bus.listen_told("booking")
    try:
        created = client.post("/api/units", json={"unit_number": f"T-{uuid.uuid4().hex[:6]}", "size": "small",
                                                  "dimensions": "2x2 m", "monthly_price": 3000}, headers=admin)
        assert created.status_code == 201, created.text
        unit_id = created.json()["data"]["id"]
        units = [e for e in booking.told if e["type"].startswith("Unit")]
        assert [(e["type"], e["data"]["unit_id"], e["data"]["monthly_price"], e["data"]["bookable"]) for e in units
                ] == [("UnitCreated", unit_id, 3000, True)]

        changed = client.put(f"/api/units/{unit_id}", json={"status": "maintenance", "monthly_price": 4500},
                             headers=admin)
        assert changed.status_code == 200, changed.text
        units = [e for e in booking.told if e["type"].startswith("Unit")]
        assert [(e["type"], e["data"]["monthly_price"], e["data"]["bookable"]) for e in units[1:]] == [
            ("UnitUpdated", 4500, False)]
        assert units[1]["id"] in [e["id"] for e in event_bus.events("UnitUpdated")]  # the stream's very envelope
        assert client.put(f"/api/units/{unit_id}", json={"monthly_price": 4500}, headers=admin).status_code == 200
        assert len([e for e in booking.told if e["type"].startswith("Unit")]) == 2  # nothing changed, nothing told
    finally:
        booking.stop()

    # Booking away: the admin's change stands (the stream tells booking later).
    r = client.put(f"/api/units/{unit_id}", json={"monthly_price": 5000}, headers=admin)
    assert r.status_code == 200 and r.json()["data"]["monthly_price"] == 5000
