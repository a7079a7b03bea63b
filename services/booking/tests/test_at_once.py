"""A booking, a cancellation or a move-out answers once inventory has applied what its commit published
(jeshkit.applied: inventory's consumer announces the ids it applied), so that the unit shows it at once; inventory
away holds the answer up for a second at most, and the requests after it not at all until it has caught up. And
booking's consumer announces what it applied (an admin's unit change)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from jeshstack.testing import wait_for

DELAY = 0.3  # how long the stand-in for inventory's consumer takes to apply an event


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_booking_cancelling_and_moving_out_answer_once_inventory_has_applied_them(start_booking, kit, signing_keys,
                                                                                 day, event_bus, inventory_applies):
    inventory_applies.silent = True  # this test's stand-in takes its time
    applies = event_bus.stand_in_applied("inventory", ["BookingCreated", "BookingCancelled", "BookingMovedOut",
                                                       "UnitReleased"], delay=DELAY)
    try:
        client = start_booking()
        kit.seed_unit(3)
        owner = signing_keys.headers(5)
        r, took = timed(lambda: client.post("/api/bookings", json={"unit_id": 3, "start_date": day(1),
                                                                   "end_date": day(11)}, headers=owner))
        assert r.status_code == 201 and DELAY <= took < 1.0, (r.text, took)
        booking = r.json()["data"]
        [created] = [e for e in applies.heard if e["type"] == "BookingCreated"]
        data = created["data"]
        assert data == {"booking_id": booking["id"], "user_id": 5, "unit_id": 3, "start_date": day(1),
                        "end_date": day(11), "total_price": 1000, "plan": "fixed", "monthly_rate": None,
                        "hold_expires_at": data["hold_expires_at"]}
        assert data["hold_expires_at"].startswith(booking["hold_expires_at"][:19])

        seen = len(applies.heard)
        r, took = timed(lambda: client.post(f"/api/bookings/{booking['id']}/cancel", headers=owner))
        assert r.status_code == 200 and DELAY <= took < 1.0, (r.text, took)
        wait_for(lambda: len(applies.heard) >= seen + 2, what="the cancellation's events")
        assert sorted(applies.kinds()[seen:]) == ["BookingCancelled", "UnitReleased"]

        rental = client.post("/api/bookings", json={"unit_id": 3, "start_date": day(1), "plan": "monthly"},
                             headers=owner).json()["data"]
        kit.bus.publish("PaymentSucceeded", kit.payment(rental))
        kit.wait_events("BookingConfirmed", booking_id=rental["id"])
        seen = len(applies.heard)
        r, took = timed(lambda: client.post(f"/api/bookings/{rental['id']}/move-out",
                                            json={"move_out_date": day(40)}, headers=owner))
        assert r.status_code == 200 and DELAY <= took < 1.0, (r.text, took)
        wait_for(lambda: len(applies.heard) >= seen + 2, what="the move-out's events")
        moved = applies.heard[seen:]
        assert sorted(e["type"] for e in moved) == ["BookingMovedOut", "UnitReleased"]
        assert [e["data"] for e in moved if e["type"] == "BookingMovedOut"] == [
            {"booking_id": rental["id"], "user_id": 5, "unit_id": 3, "move_out_date": day(40)}]
    finally:
        applies.stop()


def test_a_refusal_waits_for_nothing_and_inventory_away_holds_the_answer_a_second_at_most(
        start_booking, kit, signing_keys, day, inventory_applies):
    client = start_booking()
    kit.seed_unit(3)
    owner = signing_keys.headers(5)
    first = client.post("/api/bookings", json={"unit_id": 3, "start_date": day(1), "end_date": day(5)}, headers=owner)
    assert first.status_code == 201
    inventory_applies.silent = True  # inventory's consumer away (or far behind)
    r, took = timed(lambda: client.post("/api/bookings", json={"unit_id": 3, "start_date": day(2),
                                                               "end_date": day(3)}, headers=owner))
    assert r.status_code == 400 and took < 0.5
    r, took = timed(lambda: client.post(f"/api/bookings/{first.json()['data']['id']}/cancel",
                                        headers=signing_keys.headers(6)))
    assert r.status_code == 403 and took < 0.5
    assert inventory_applies.kinds() == ["BookingCreated"]

    r, took = timed(lambda: client.post("/api/bookings", json={"unit_id": 3, "start_date": day(10),
                                                               "end_date": day(12)}, headers=owner))
    assert r.status_code == 201, r.text
    assert 1.0 <= took < 2.0  # waited for the announcement no longer than jeshkit.applied.TIMEOUT_SECONDS

    # Inventory is behind now: the next requests do not hold a thread a second each (until it catches up).
    r, took = timed(lambda: client.post("/api/bookings", json={"unit_id": 3, "start_date": day(20),
                                                               "end_date": day(22)}, headers=owner))
    assert r.status_code == 201 and took < 0.5, (r.text, took)


def _unit_event(kind: str, unit_id: int, at: datetime, **facts: object) -> dict[str, object]:
    data = {"unit_id": unit_id, "unit_number": f"U-{unit_id}", "size": "small", "monthly_price": 3000,
            "bookable": True, **facts}
    return {"id": str(uuid.uuid4()), "type": kind, "version": 1, "occurred_at": at.isoformat(), "source": "inventory",
            "data": data}


def test_booking_announces_the_unit_changes_it_applied_and_a_booking_made_then_follows_them(
        start_booking, kit, signing_keys, day, event_bus):
    """An admin's maintenance or price change: inventory's request waits until booking's consumer announces the
    UnitUpdated applied; a booking made the moment it is announced follows it, inventory not asked. An event found
    applied before (the inbox) is announced again: a request waiting for it is not held up."""
    client = start_booking()
    kit.seed_unit(5, monthly_price=3000)
    body = {"unit_id": 5, "start_date": day(1), "end_date": day(31)}
    now = datetime.now(UTC)
    announced = event_bus.announcements("booking")
    try:
        closed = _unit_event("UnitUpdated", 5, now, bookable=False)
        kit.bus.publish("UnitUpdated", closed["data"], event_id=closed["id"], occurred_at=now)
        wait_for(lambda: closed["id"] in announced.heard, what="booking to announce the change applied")
        refused = client.post("/api/bookings", json=body, headers=signing_keys.headers(1))
        assert refused.status_code == 400 and refused.json()["message"] == "Unit not available"

        later = _unit_event("UnitUpdated", 5, now + timedelta(seconds=1), monthly_price=6000)
        kit.bus.publish("UnitUpdated", later["data"], event_id=later["id"], occurred_at=now + timedelta(seconds=1))
        wait_for(lambda: later["id"] in announced.heard, what="the price change announced")
        r = client.post("/api/bookings", json=body, headers=signing_keys.headers(1))
        assert r.status_code == 201 and r.json()["data"]["total_price"] == 6000, r.text

        created = _unit_event("UnitCreated", 7, now, monthly_price=900)
        kit.bus.publish("UnitCreated", created["data"], event_id=created["id"])
        wait_for(lambda: created["id"] in announced.heard, what="the new unit announced")
        r = client.post("/api/bookings", json={**body, "unit_id": 7}, headers=signing_keys.headers(2))
        assert r.status_code == 201 and r.json()["data"]["total_price"] == 900
        assert kit.inventory.asked == []

        kit.bus.publish("UnitUpdated", closed["data"], event_id=closed["id"], occurred_at=now, dedupe=False)  # again
        wait_for(lambda: announced.heard.count(closed["id"]) == 2, what="the copy announced, found applied")
        assert kit.unit_row(5)["monthly_price"] == 6000 and kit.unit_row(5)["bookable"]
    finally:
        announced.stop()
