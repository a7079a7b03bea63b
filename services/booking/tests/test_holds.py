"""Holds: an unpaid booking keeps its dates for BOOKING_HOLD_SECONDS, then it is cancelled and they are free."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import text

from jeshstack.testing import wait_for


def _book(client, headers, day, unit=1, start=1, end=5):
    return client.post("/api/bookings", json={"unit_id": unit, "start_date": day(start), "end_date": day(end)},
                       headers=headers)


def test_hold_length_comes_from_the_setting(start_booking, kit, signing_keys, day):
    client = start_booking(booking_hold_seconds=120)
    kit.seed_unit(1)
    before = datetime.now(UTC)
    booking = _book(client, signing_keys.headers(1), day).json()["data"]
    held_for = (datetime.fromisoformat(booking["hold_expires_at"]) - before).total_seconds()
    assert 115 < held_for < 125


def test_expired_hold_is_cancelled_and_its_dates_released(start_booking, kit, signing_keys, day):
    client = start_booking(booking_hold_seconds=1, hold_sweep_interval_seconds=0.2)
    kit.seed_unit(1)
    owner = signing_keys.headers(7)
    booking = _book(client, owner, day).json()["data"]
    assert _book(client, signing_keys.headers(8), day).status_code == 400  # held

    expired = wait_for(
        lambda: (b := client.get("/api/bookings/7", headers=owner).json()["data"][0])["status"] == "cancelled" and b,
        what="the hold to expire",
    )
    assert expired["payment_status"] == "pending"
    assert "hold_expires_at" not in expired  # only while pending
    assert kit.booking_row(booking["id"])["cancel_reason"] == "expired"
    [cancelled] = kit.wait_events("BookingCancelled", booking_id=booking["id"])
    assert cancelled == {"booking_id": booking["id"], "user_id": 7, "unit_id": 1, "start_date": day(1),
                         "end_date": day(5), "reason": "expired"}
    [released] = kit.wait_events("UnitReleased", booking_id=booking["id"])
    assert released == {"booking_id": booking["id"], "unit_id": 1, "start_date": day(1), "end_date": day(5),
                         "reason": "expired"}

    again = _book(client, signing_keys.headers(8), day)
    assert again.status_code == 201, again.text


def test_paid_and_confirmed_bookings_never_expire(start_booking, kit, signing_keys, day):
    client = start_booking(booking_hold_seconds=1, hold_sweep_interval_seconds=0.2)
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(7), day).json()["data"]
    kit.bus.publish("PaymentSucceeded", kit.payment(booking))
    wait_for(lambda: kit.booking_row(booking["id"])["status"] == "confirmed", what="confirmation")
    time.sleep(1.5)
    assert kit.booking_row(booking["id"])["status"] == "confirmed"
    assert kit.events("BookingCancelled") == []


def test_an_expired_hold_the_sweeper_has_not_reached_never_blocks_a_new_customer(start_booking, kit,
                                                                                signing_keys, day):
    # The sweeper runs once right after start-up, then not for an hour: only the booking request can release.
    client = start_booking(booking_hold_seconds=1, hold_sweep_interval_seconds=3600)
    kit.seed_unit(1)
    time.sleep(1.2)
    stale = _book(client, signing_keys.headers(7), day, start=1, end=10).json()["data"]
    time.sleep(1.1)
    assert kit.booking_row(stale["id"])["status"] == "pending"  # expired, not swept

    fresh = _book(client, signing_keys.headers(8), day, start=5, end=6)

    assert fresh.status_code == 201, fresh.text
    row = kit.booking_row(stale["id"])
    assert (row["status"], row["cancel_reason"]) == ("cancelled", "expired")
    assert kit.wait_events("BookingCancelled", booking_id=stale["id"])[0]["reason"] == "expired"
    assert kit.wait_events("UnitReleased", booking_id=stale["id"])[0]["reason"] == "expired"


def test_two_replicas_sweep_each_expired_hold_exactly_once(start_booking, kit, signing_keys, day):
    first = start_booking(booking_hold_seconds=1, hold_sweep_interval_seconds=0.05, hold_sweep_batch_size=3)
    start_booking(booking_hold_seconds=1, hold_sweep_interval_seconds=0.05, hold_sweep_batch_size=3)
    for unit in range(1, 5):
        kit.seed_unit(unit)
    ids = []
    for unit in range(1, 5):
        for n in range(5):
            r = _book(first, signing_keys.headers(unit), day, unit=unit, start=2 * n, end=2 * n + 1)
            assert r.status_code == 201, r.text
            ids.append(r.json()["data"]["id"])

    def all_cancelled() -> bool:
        with kit.db.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM bookings WHERE status = 'cancelled'")).scalar() == 20

    wait_for(all_cancelled, what="every hold released")
    kit.wait_events("BookingCancelled", 20)
    kit.wait_events("UnitReleased", 20)
    time.sleep(0.5)  # a double sweep would have staged more by now
    cancelled = kit.events("BookingCancelled")
    assert sorted(e["booking_id"] for e in cancelled) == sorted(ids)  # each once, never twice
    assert sorted(e["booking_id"] for e in kit.events("UnitReleased")) == sorted(ids)


def test_a_hold_that_ran_out_reads_cancelled_before_the_sweeper_comes(start_booking, kit, signing_keys, day):
    """The contract: unpaid by the end of its hold, a booking is cancelled. A read does not wait for the job's next
    round (HOLD_SWEEP_INTERVAL_SECONDS): the reader's own holds that ran out are expired first."""
    client = start_booking(booking_hold_seconds=1, hold_sweep_interval_seconds=3600)
    kit.seed_unit(1)
    owner, other = signing_keys.headers(7), signing_keys.headers(8)
    booking = _book(client, owner, day).json()["data"]
    theirs = _book(client, other, day, start=10, end=12).json()["data"]
    time.sleep(1.2)

    [mine] = client.get("/api/bookings", headers=owner).json()["data"]
    assert (mine["id"], mine["status"]) == (booking["id"], "cancelled")
    assert kit.booking_row(booking["id"])["cancel_reason"] == "expired"
    assert kit.booking_row(theirs["id"])["status"] == "pending"  # another customer's: their read, or the job
    [compat] = client.get("/api/bookings/8", headers=other).json()["data"]
    assert compat["status"] == "cancelled" and "hold_expires_at" not in compat
    kit.wait_events("BookingCancelled", booking_id=theirs["id"])
    assert client.get("/api/bookings", params={"status": "pending"}, headers=signing_keys.headers(1, "admin")
                      ).json()["data"] == []


def test_cancelling_a_hold_that_ran_out_is_409_already_cancelled(start_booking, kit, signing_keys, day):
    client = start_booking(booking_hold_seconds=1, hold_sweep_interval_seconds=3600)
    kit.seed_unit(1)
    owner = signing_keys.headers(7)
    booking = _book(client, owner, day).json()["data"]
    time.sleep(1.2)

    assert client.post(f"/api/bookings/{booking['id']}/cancel", headers=signing_keys.headers(8)).status_code == 403
    assert kit.booking_row(booking["id"])["status"] == "pending"  # someone else's refusal changed nothing
    r = client.post(f"/api/bookings/{booking['id']}/cancel", headers=owner)
    assert r.status_code == 409
    assert r.json() == {"success": False, "message": "Booking is already cancelled"}
    assert kit.booking_row(booking["id"])["cancel_reason"] == "expired"  # by its hold, not by the owner
    [cancelled] = kit.wait_events("BookingCancelled", booking_id=booking["id"])
    assert cancelled["reason"] == "expired"
