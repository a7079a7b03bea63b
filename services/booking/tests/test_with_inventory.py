"""Against the real inventory service: a unit created a moment ago can be booked at once (gap-fill over HTTP)."""

from __future__ import annotations


def test_a_unit_created_a_moment_ago_is_bookable_through_the_gap_fill(make_service, start_booking, kit,
                                                                      signing_keys, day):
    inventory = make_service("inventory", serve=True)
    # No workers in booking: no consumer, so the unit can only come from inventory's internal endpoint.
    booking = start_booking(inventory_url=f"http://127.0.0.1:{inventory.port}", run_workers=False)
    created = inventory.post(
        "/api/units",
        json={"unit_number": "GF-1", "size": "small", "dimensions": "2x2", "monthly_price": 4500},
        headers=signing_keys.headers(1, "admin"),
    )
    assert created.status_code == 201, created.text
    unit_id = created.json()["data"]["id"]

    r = booking.post("/api/bookings", json={"unit_id": unit_id, "start_date": day(1), "end_date": day(11)},
                     headers=signing_keys.headers(5))

    assert r.status_code == 201, r.text
    assert r.json()["data"]["total_price"] == 1500  # ceil(4500 * 10 / 30)
    row = kit.unit_row(unit_id)
    assert (row["unit_number"], row["monthly_price"], row["bookable"]) == ("GF-1", 4500, True)

    unknown = booking.post("/api/bookings", json={"unit_id": unit_id + 1000, "start_date": day(1),
                                                  "end_date": day(2)}, headers=signing_keys.headers(5))
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "Unit not found"


def test_a_unit_in_maintenance_at_inventory_is_not_available(make_service, start_booking, signing_keys, day):
    inventory = make_service("inventory", serve=True)
    booking = start_booking(inventory_url=f"http://127.0.0.1:{inventory.port}", run_workers=False)
    admin = signing_keys.headers(1, "admin")
    unit_id = inventory.post("/api/units", json={"unit_number": "GF-2", "size": "large", "dimensions": "3x3",
                                                 "monthly_price": 9000}, headers=admin).json()["data"]["id"]
    assert inventory.put(f"/api/units/{unit_id}", json={"status": "maintenance"}, headers=admin).status_code == 200

    r = booking.post("/api/bookings", json={"unit_id": unit_id, "start_date": day(1), "end_date": day(2)},
                     headers=signing_keys.headers(5))
    assert r.status_code == 400
    assert r.json() == {"success": False, "message": "Unit not available"}
