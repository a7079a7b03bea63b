"""Monthly rentals seen by inventory (open-ended ranges, move-out) and the admin occupancy report."""

from __future__ import annotations

import time
from datetime import timedelta

from jeshstack.testing import wait_for


def test_an_open_ended_rental_takes_the_unit_until_it_moves_out(client, new_unit, bookings, today):
    unit = new_unit()
    start = today + timedelta(days=2)
    data = bookings.data(7, unit["id"], start, start, total_price=3000, plan="monthly", monthly_rate=3000)
    data["end_date"] = None
    bookings.publish("BookingConfirmed", data)
    assert client.get(f"/api/units/{unit['id']}").json()["data"]["status"] == "booked"
    assert client.get(f"/api/units/{unit['id']}/availability").json()["data"] == [
        {"start_date": start.isoformat(), "end_date": None}]
    far = {"available_from": (today + timedelta(days=400)).isoformat(),
           "available_to": (today + timedelta(days=401)).isoformat()}
    assert unit["id"] not in [u["id"] for u in client.get("/api/units", params=far).json()["data"]]

    move_out = today + timedelta(days=40)
    bookings.publish("BookingMovedOut", {"booking_id": 7, "user_id": 42, "unit_id": unit["id"],
                                         "move_out_date": move_out.isoformat()})
    bookings.publish("UnitReleased", {"booking_id": 7, "unit_id": unit["id"], "start_date": move_out.isoformat(),
                                      "end_date": None, "reason": "moved_out"})
    assert client.get(f"/api/units/{unit['id']}/availability").json()["data"] == [
        {"start_date": start.isoformat(), "end_date": move_out.isoformat()}]
    assert unit["id"] in [u["id"] for u in client.get("/api/units", params=far).json()["data"]]
    assert client.get(f"/api/units/{unit['id']}").json()["data"]["status"] == "booked"  # until it moves out


def test_occupancy_is_physical_and_economic(client, new_unit, bookings, today, admin, signing_keys):
    small, medium, large, broken = (new_unit(monthly_price=p) for p in (2000, 3000, 5000, 9000))
    client.put(f"/api/units/{broken['id']}", json={"status": "maintenance"}, headers=admin)
    # Occupied today: small (a fixed booking), large (a monthly rental at an older, lower rate).
    bookings.confirmed(1, small["id"], today, today + timedelta(days=10))
    rental = bookings.data(2, large["id"], today - timedelta(days=40), today, total_price=4000, plan="monthly",
                           monthly_rate=4000)
    rental["end_date"] = None
    bookings.publish("BookingConfirmed", rental)
    bookings.created(3, medium["id"], today + timedelta(days=5), today + timedelta(days=9))  # a future hold

    r = client.get("/api/units/reports/occupancy", headers=admin)
    assert r.status_code == 200, r.text
    report = r.json()["data"]
    assert report["by_status"] == {"available": 0, "booked": 3, "maintenance": 1}
    assert (report["units"], report["rentable_units"], report["occupied_units"]) == (4, 3, 2)
    assert report["physical_occupancy"] == 66.7
    assert (report["potential_rent"], report["occupied_rent"]) == (10000, 6000)
    assert report["economic_occupancy"] == 60.0
    assert client.get("/api/units/reports/occupancy", headers=signing_keys.headers(5)).status_code == 403


def test_occupancy_rounds_a_half_up(client, new_unit, bookings, today, admin):
    units = [new_unit(monthly_price=1000) for _ in range(16)]
    bookings.confirmed(1, units[0]["id"], today, today + timedelta(days=10))
    report = client.get("/api/units/reports/occupancy", headers=admin).json()["data"]
    assert (report["occupied_units"], report["rentable_units"]) == (1, 16)
    assert (report["occupied_rent"], report["potential_rent"]) == (1000, 16000)
    # 6.25 %: round() of the float said 6.2 (halves to the even digit)
    assert (report["physical_occupancy"], report["economic_occupancy"]) == (6.3, 6.3)


def _moved_out(bookings, booking_id, unit_id, move_out, old_end, **options):
    bookings.publish("BookingMovedOut", {"booking_id": booking_id, "user_id": 42, "unit_id": unit_id,
                                         "move_out_date": move_out.isoformat()}, **options)
    bookings.publish("UnitReleased", {"booking_id": booking_id, "unit_id": unit_id, "start_date": move_out.isoformat(),
                                      "end_date": old_end.isoformat() if old_end else None, "reason": "moved_out"},
                     **options)


def test_a_confirmation_applied_after_the_move_out_keeps_the_earlier_end(client, new_unit, bookings, today):
    unit = new_unit()
    start, end, move_out = today + timedelta(days=2), today + timedelta(days=200), today + timedelta(days=40)
    rental = bookings.data(8, unit["id"], start, end, total_price=3000, plan="monthly", monthly_rate=3000)
    bookings.created(8, unit["id"], start, end)
    _moved_out(bookings, 8, unit["id"], move_out, end)
    bookings.publish("BookingConfirmed", rental)  # retried after the move-out it came before
    assert client.get(f"/api/units/{unit['id']}/availability").json()["data"] == [
        {"start_date": start.isoformat(), "end_date": move_out.isoformat()}]


def test_a_move_out_of_a_booking_not_heard_of_waits_for_it(client, new_unit, bookings, today, admin):
    """Applied to nothing, the move-out was lost, and the rental the late confirmation then recorded held its unit
    for good. It is tried again until the booking is known (then parked, for an admin, if it never comes)."""
    unit = new_unit()
    start, move_out = today + timedelta(days=2), today + timedelta(days=40)
    bookings.publish("BookingMovedOut", {"booking_id": 9, "user_id": 42, "unit_id": unit["id"],
                                         "move_out_date": move_out.isoformat()}, wait=False)
    rental = bookings.data(9, unit["id"], start, start, total_price=3000, plan="monthly", monthly_rate=3000)
    rental["end_date"] = None
    time.sleep(0.5)  # tried once at least, and refused
    bookings.publish("BookingConfirmed", rental)  # the late confirmation: the unit held from start on

    wait_for(lambda: client.get(f"/api/units/{unit['id']}/availability").json()["data"] == [
        {"start_date": start.isoformat(), "end_date": move_out.isoformat()}], timeout=20,
        what="the move-out applied once the rental is known")
    assert client.get("/api/units/admin/dead-letters", headers=admin).json()["data"] == []
