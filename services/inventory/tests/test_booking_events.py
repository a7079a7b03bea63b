"""Unit status and availability driven by the booking service's events: in order, redelivered, out of order."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import text

from jeshstack.testing import wait_for


def status_of(client, unit_id: int) -> str:
    return client.get(f"/api/units/{unit_id}").json()["data"]["status"]


def ranges_of(client, unit_id: int) -> list[dict[str, str]]:
    response = client.get(f"/api/units/{unit_id}/availability")
    assert response.status_code == 200
    return response.json()["data"]


def test_a_booking_holds_then_confirms_then_cancellation_frees_the_unit(client, new_unit, bookings, today):
    unit = new_unit()
    start, end = today + timedelta(days=3), today + timedelta(days=33)
    window = {"start_date": start.isoformat(), "end_date": end.isoformat()}

    bookings.created(1, unit["id"], start, end)
    assert status_of(client, unit["id"]) == "booked"
    assert ranges_of(client, unit["id"]) == [window]

    bookings.confirmed(1, unit["id"], start, end)
    assert status_of(client, unit["id"]) == "booked"

    bookings.cancelled(1, unit["id"], start, end)
    assert status_of(client, unit["id"]) == "available"
    assert ranges_of(client, unit["id"]) == []


def test_unit_released_frees_the_dates(client, new_unit, bookings, today):
    unit = new_unit()
    start, end = today, today + timedelta(days=10)
    bookings.created(2, unit["id"], start, end)
    assert status_of(client, unit["id"]) == "booked"
    bookings.released(2, unit["id"], start, end)
    assert status_of(client, unit["id"]) == "available"


def test_a_redelivered_event_changes_nothing(client, new_unit, bookings, today, service_db):
    unit = new_unit()
    start, end = today + timedelta(days=1), today + timedelta(days=5)
    created = bookings.created(3, unit["id"], start, end)
    bookings.cancelled(3, unit["id"], start, end)
    assert status_of(client, unit["id"]) == "available"

    # The same BookingCreated again, past JetStream's de-duplication (as after a relay retry long after).
    bookings.bus.publish("BookingCreated", created["data"], event_id=created["id"], source="booking", dedupe=False)
    # The consumer applies events in stream order: once this later one is in, the redelivery was handled.
    other = new_unit()
    bookings.created(4, other["id"], start, end)

    assert status_of(client, unit["id"]) == "available"
    assert ranges_of(client, unit["id"]) == []
    with service_db.connect() as conn:
        seen = conn.execute(
            text("SELECT count(*) FROM inbox WHERE consumer = 'inventory' AND event_id = :id"), {"id": created["id"]}
        ).scalar()
    assert seen == 1


def test_cancelled_before_created_leaves_the_dates_free(client, new_unit, bookings, today):
    unit = new_unit()
    start, end = today + timedelta(days=2), today + timedelta(days=9)
    bookings.cancelled(7, unit["id"], start, end)
    bookings.created(7, unit["id"], start, end)
    assert status_of(client, unit["id"]) == "available"
    assert ranges_of(client, unit["id"]) == []
    # ...and a late confirmation of that cancelled booking does not take the dates either.
    bookings.confirmed(7, unit["id"], start, end)
    assert status_of(client, unit["id"]) == "available"


def test_a_payment_after_expiry_reconfirms_in_either_delivery_order(client, new_unit, bookings, today):
    # The booking service re-confirms an expired hold when the money arrives late and the dates are free.
    unit, other = new_unit(), new_unit()
    start, end = today + timedelta(days=2), today + timedelta(days=9)
    bookings.created(20, unit["id"], start, end)
    bookings.cancelled(20, unit["id"], start, end, reason="expired")
    bookings.released(20, unit["id"], start, end)
    assert status_of(client, unit["id"]) == "available"
    bookings.confirmed(20, unit["id"], start, end)
    assert status_of(client, unit["id"]) == "booked"
    # Delivered the other way round (two replicas, two batches): the expiry arrives after the confirmation.
    bookings.created(21, other["id"], start, end)
    bookings.confirmed(21, other["id"], start, end)
    bookings.cancelled(21, other["id"], start, end, reason="expired")
    bookings.released(21, other["id"], start, end)
    assert status_of(client, other["id"]) == "booked"
    # A user's or an admin's cancellation of a confirmed booking still frees it.
    bookings.cancelled(21, other["id"], start, end, reason="admin")
    assert status_of(client, other["id"]) == "available"


def test_confirmed_before_created_stays_confirmed_after_the_hold_would_expire(client, new_unit, bookings, today):
    unit = new_unit()
    start, end = today + timedelta(days=2), today + timedelta(days=9)
    bookings.confirmed(8, unit["id"], start, end)
    bookings.created(8, unit["id"], start, end, hold_seconds=-60)  # late, with a hold long gone
    assert status_of(client, unit["id"]) == "booked"
    assert ranges_of(client, unit["id"]) == [{"start_date": start.isoformat(), "end_date": end.isoformat()}]


def test_an_expired_hold_frees_the_unit_without_waiting_for_unit_released(client, new_unit, bookings, today):
    unit = new_unit()
    start, end = today + timedelta(days=1), today + timedelta(days=4)
    bookings.created(9, unit["id"], start, end, hold_seconds=1.5)
    assert status_of(client, unit["id"]) == "booked"
    wait_for(lambda: status_of(client, unit["id"]) == "available", timeout=5, what="the hold to expire")
    assert ranges_of(client, unit["id"]) == []
    assert client.get("/api/units", params={"status": "available"}).json()["data"][0]["id"] == unit["id"]


def test_a_confirmed_booking_outlives_its_hold(client, new_unit, bookings, today):
    unit = new_unit()
    start, end = today + timedelta(days=1), today + timedelta(days=4)
    bookings.created(10, unit["id"], start, end, hold_seconds=1)
    bookings.confirmed(10, unit["id"], start, end)
    time.sleep(1.2)
    assert status_of(client, unit["id"]) == "booked"


def test_an_ended_booking_no_longer_counts_but_a_future_one_does(client, new_unit, bookings, today):
    ended, future = new_unit(), new_unit()
    bookings.confirmed(11, ended["id"], today - timedelta(days=30), today)  # end dates are exclusive: over today
    bookings.confirmed(12, future["id"], today + timedelta(days=200), today + timedelta(days=230))
    assert status_of(client, ended["id"]) == "available"
    assert ranges_of(client, ended["id"]) == []
    assert status_of(client, future["id"]) == "booked"


def test_availability_lists_the_active_ranges_in_order(client, new_unit, bookings, today):
    unit = new_unit()
    d = today + timedelta(days=1)
    bookings.confirmed(20, unit["id"], d + timedelta(days=40), d + timedelta(days=50))
    bookings.created(21, unit["id"], d, d + timedelta(days=10))
    bookings.created(22, unit["id"], d + timedelta(days=10), d + timedelta(days=20), hold_seconds=-1)  # expired
    bookings.created(23, unit["id"], d + timedelta(days=20), d + timedelta(days=30))
    bookings.cancelled(23, unit["id"], d + timedelta(days=20), d + timedelta(days=30))
    bookings.confirmed(24, unit["id"], today - timedelta(days=10), today + timedelta(days=1))  # running now

    assert ranges_of(client, unit["id"]) == [
        {"start_date": (today - timedelta(days=10)).isoformat(), "end_date": (today + timedelta(days=1)).isoformat()},
        {"start_date": d.isoformat(), "end_date": (d + timedelta(days=10)).isoformat()},
        {"start_date": (d + timedelta(days=40)).isoformat(), "end_date": (d + timedelta(days=50)).isoformat()},
    ]


def test_maintenance_wins_over_bookings_and_ending_it_shows_the_booking(client, admin, new_unit, bookings, today):
    unit = new_unit()
    start, end = today + timedelta(days=5), today + timedelta(days=6)
    bookings.confirmed(30, unit["id"], start, end)
    response = client.put(f"/api/units/{unit['id']}", json={"status": "maintenance"}, headers=admin)
    assert response.json()["data"]["status"] == "maintenance"
    assert ranges_of(client, unit["id"]) == [{"start_date": start.isoformat(), "end_date": end.isoformat()}]

    back = client.put(f"/api/units/{unit['id']}", json={"status": "available"}, headers=admin)
    assert back.status_code == 200
    assert back.json()["data"]["status"] == "booked"


def test_an_admin_cannot_mark_available_a_unit_an_active_booking_holds(client, admin, new_unit, bookings, today):
    unit = new_unit()
    start, end = today + timedelta(days=1), today + timedelta(days=3)
    bookings.created(40, unit["id"], start, end)
    response = client.put(f"/api/units/{unit['id']}", json={"status": "available"}, headers=admin)
    assert response.status_code == 409
    assert response.json()["success"] is False
    assert status_of(client, unit["id"]) == "booked"

    # Re-sending the status it already has (a form that posts the whole unit back) is harmless.
    same = client.put(f"/api/units/{unit['id']}", json={"status": "booked", "monthly_price": 3100}, headers=admin)
    assert same.status_code == 200
    assert same.json()["data"]["status"] == "booked"
    assert same.json()["data"]["monthly_price"] == 3100

    bookings.cancelled(40, unit["id"], start, end)
    assert client.put(f"/api/units/{unit['id']}", json={"status": "available"}, headers=admin).status_code == 200


def test_a_malformed_booking_event_is_not_applied_and_does_not_block_the_next(client, new_unit, bookings, today):
    unit = new_unit()
    bad = bookings.publish(
        "BookingCreated", {"booking_id": "x", "unit_id": unit["id"], "start_date": "soon"}, wait=False
    )
    bookings.created(50, unit["id"], today + timedelta(days=1), today + timedelta(days=2))
    assert status_of(client, unit["id"]) == "booked"
    assert not bookings.processed(bad["id"])  # rolled back with its inbox row: retried, then parked by the kit


def test_two_replicas_share_the_events_and_agree(client, start_inventory, new_unit, bookings, today):
    start_inventory()  # a second replica: the durable consumer hands each event to one of them
    units = [new_unit()["id"] for _ in range(4)]
    start, end = today + timedelta(days=1), today + timedelta(days=8)
    published = []
    for booking_id in range(100, 140):
        unit_id = units[booking_id % 4]
        published.append(bookings.created(booking_id, unit_id, start, end, wait=False))
        if unit_id != units[0]:
            published.append(bookings.cancelled(booking_id, unit_id, start, end, wait=False))
    wait_for(lambda: all(bookings.processed(e["id"]) for e in published), timeout=30, what="all events applied")

    assert [status_of(client, unit_id) for unit_id in units] == ["booked", "available", "available", "available"]
    assert ranges_of(client, units[0]) == [{"start_date": start.isoformat(), "end_date": end.isoformat()}] * 10
