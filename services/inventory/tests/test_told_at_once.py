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
