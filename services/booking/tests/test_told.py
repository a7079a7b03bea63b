"""Inventory is told at once (jeshkit.told, a NATS request right after the commit) what a booking, a cancellation or a
move-out committed, the same envelopes the stream carries a moment later; when it cannot be told, the answer is not
held up. And booking applies what inventory tells it (an admin's unit change), once, whichever copy comes first."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jeshstack.testing import wait_for


@pytest.fixture
def inventory_told(kit: Any) -> Any:
    listener = kit.bus.listen_told("inventory")
    yield listener
    listener.stop()


def test_booking_cancelling_and_moving_out_tell_inventory_at_once(start_booking, kit, signing_keys, day,
                                                                   inventory_told):
    client = start_booking()
    kit.seed_unit(3)
    owner = signing_keys.headers(5)
    booking = client.post("/api/bookings", json={"unit_id": 3, "start_date": day(1), "end_date": day(11)},
                          headers=owner).json()["data"]
    [created] = inventory_told.told  # before the answer left
    assert created["type"] == "BookingCreated" and created["source"] == "booking"
    data = created["data"]
    assert data == {"booking_id": booking["id"], "user_id": 5, "unit_id": 3, "start_date": day(1),
                    "end_date": day(11), "total_price": 1000, "plan": "fixed", "monthly_rate": None,
                    "hold_expires_at": data["hold_expires_at"]}
    assert data["hold_expires_at"].startswith(booking["hold_expires_at"][:19])
    # The very envelope the stream carries: the same id, so inventory's inbox applies it once.
    wait_for(lambda: created["id"] in [e["id"] for e in kit.bus.events("BookingCreated")], what="the stream's copy")

    assert client.post(f"/api/bookings/{booking['id']}/cancel", headers=owner).status_code == 200
    assert inventory_told.kinds()[1:] == ["BookingCancelled", "UnitReleased"]
    assert inventory_told.told[1]["data"] == {"booking_id": booking["id"], "user_id": 5, "unit_id": 3,
                                              "start_date": day(1), "end_date": day(11), "reason": "user"}

    rental = client.post("/api/bookings", json={"unit_id": 3, "start_date": day(1), "plan": "monthly"},
                         headers=owner).json()["data"]
    kit.bus.publish("PaymentSucceeded", kit.payment(rental))
    kit.wait_events("BookingConfirmed", booking_id=rental["id"])
    told_before = len(inventory_told.told)
    assert client.post(f"/api/bookings/{rental['id']}/move-out", json={"move_out_date": day(40)},
                       headers=owner).status_code == 200
    moved = inventory_told.told[told_before:]
    assert [e["type"] for e in moved] == ["BookingMovedOut", "UnitReleased"]
    assert moved[0]["data"] == {"booking_id": rental["id"], "user_id": 5, "unit_id": 3, "move_out_date": day(40)}


def test_a_refusal_tells_nothing_and_inventory_away_holds_nothing_up(start_booking, kit, signing_keys, day,
                                                                     inventory_told):
    client = start_booking()
    kit.seed_unit(3)
    owner = signing_keys.headers(5)
    first = client.post("/api/bookings", json={"unit_id": 3, "start_date": day(1), "end_date": day(5)}, headers=owner)
    assert client.post("/api/bookings", json={"unit_id": 3, "start_date": day(2), "end_date": day(3)},
                       headers=owner).status_code == 400
    assert client.post(f"/api/bookings/{first.json()['data']['id']}/cancel",
                       headers=signing_keys.headers(6)).status_code == 403
    assert inventory_told.kinds() == ["BookingCreated"]

    inventory_told.stop()  # nobody listens: the request is answered at once all the same
    started = time.monotonic()
    r = client.post("/api/bookings", json={"unit_id": 3, "start_date": day(10), "end_date": day(12)}, headers=owner)
    assert r.status_code == 201, r.text
    assert client.post(f"/api/bookings/{r.json()['data']['id']}/cancel", headers=owner).status_code == 200
    assert time.monotonic() - started < 1.0  # no responders is known at once, no timeout waited for


def _unit_event(kind: str, unit_id: int, at: datetime, **facts: object) -> dict[str, object]:
    data = {"unit_id": unit_id, "unit_number": f"U-{unit_id}", "size": "small", "monthly_price": 3000,
            "bookable": True, **facts}
    return {"id": str(uuid.uuid4()), "type": kind, "version": 1, "occurred_at": at.isoformat(), "source": "inventory",
            "data": data}


def test_a_unit_change_inventory_tells_at_once_counts_for_the_next_booking(start_booking, kit, signing_keys, day):
    """An admin's maintenance or price change: inventory tells booking right after its commit (its UnitUpdated may
    still be on its way), so a booking made the moment the admin has the answer follows it; inventory is not asked."""
    client = start_booking()
    kit.seed_unit(5, monthly_price=3000)
    body = {"unit_id": 5, "start_date": day(1), "end_date": day(31)}
    now = datetime.now(UTC)

    closed = _unit_event("UnitUpdated", 5, now, bookable=False)
    assert kit.bus.tell("booking", [closed]) == {"applied": 1}
    refused = client.post("/api/bookings", json=body, headers=signing_keys.headers(1))
    assert refused.status_code == 400 and refused.json()["message"] == "Unit not available"

    later = now + timedelta(seconds=1)
    assert kit.bus.tell("booking", [_unit_event("UnitUpdated", 5, later, monthly_price=6000)]) == {"applied": 1}
    r = client.post("/api/bookings", json=body, headers=signing_keys.headers(1))
    assert r.status_code == 201, r.text
    assert r.json()["data"]["total_price"] == 6000

    # The stream's copy of the same event, coming second, is not applied again (the inbox); nor is the told copy of
    # one the stream brought first.
    kit.bus.publish("UnitUpdated", closed["data"], event_id=closed["id"])
    assert kit.bus.tell("booking", [closed]) == {"applied": 0}
    # An event booking does not consume is passed over; a malformed one is refused, and changes nothing.
    not_consumed = {**_unit_event("UnitUpdated", 5, later), "type": "BookingCreated"}
    assert kit.bus.tell("booking", [not_consumed]) == {"applied": 0}
    for bad in ([{"type": "UnitUpdated"}], [{**_unit_event("UnitUpdated", 5, later, monthly_price=1), "data": {}}],
                {"not": "a list"}):
        assert "error" in kit.bus.tell("booking", bad)  # type: ignore[arg-type]
    assert kit.unit_row(5)["monthly_price"] == 6000
    # A unit created a moment ago is bookable at once too.
    assert kit.bus.tell("booking", [_unit_event("UnitCreated", 7, later, monthly_price=900)]) == {"applied": 1}
    created = client.post("/api/bookings", json={**body, "unit_id": 7}, headers=signing_keys.headers(2))
    assert created.status_code == 201 and created.json()["data"]["total_price"] == 900
    assert kit.inventory.asked == []
    wait_for(lambda: kit.unit_row(5)["monthly_price"] == 6000, what="the stream's copy changed nothing")
