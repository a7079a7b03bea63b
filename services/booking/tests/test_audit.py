"""An admin's cancellation is in booking's audit log (jeshkit.audit), an owner's is not; customers cannot read it."""

from __future__ import annotations

AUDIT = "/api/bookings/admin/audit"


def test_an_admins_cancellation_is_logged_with_the_admin_an_owners_is_not(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.inventory.add(1)
    kit.inventory.add(2)
    owner = signing_keys.headers(5)
    mine = client.post("/api/bookings", json={"unit_id": 1, "start_date": day(1), "end_date": day(3)},
                       headers=owner).json()["data"]
    theirs = client.post("/api/bookings", json={"unit_id": 2, "start_date": day(1), "end_date": day(3)},
                         headers=owner).json()["data"]
    assert client.post(f"/api/bookings/{mine['id']}/cancel", headers=owner).status_code == 200
    admin = signing_keys.headers(42, "admin")
    assert client.post(f"/api/bookings/{theirs['id']}/cancel", headers=admin).status_code == 200

    entries = client.get(AUDIT, headers=admin).json()["data"]
    assert [(e["action"], e["target"], e["actor_id"], e["details"]) for e in entries] == [
        ("booking.cancelled", f"booking:{theirs['id']}", 42, {"previous_status": "pending",
                                                              "payment_status": "pending"}),
    ]
    assert client.get(AUDIT, headers=owner).status_code == 403


def test_an_admins_move_out_notice_is_logged(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    rental = client.post("/api/bookings", json={"unit_id": 1, "start_date": day(1), "plan": "monthly"},
                         headers=signing_keys.headers(5)).json()["data"]
    kit.bus.publish("PaymentSucceeded", kit.payment(rental))
    kit.wait_events("BookingConfirmed", booking_id=rental["id"])
    admin = signing_keys.headers(42, "admin")
    moved = client.post(f"/api/bookings/{rental['id']}/move-out", json={"move_out_date": day(40)}, headers=admin)
    assert moved.status_code == 200, moved.text

    [entry] = client.get(AUDIT, headers=admin).json()["data"]
    assert (entry["action"], entry["target"], entry["actor_id"]) == ("booking.moved_out", f"booking:{rental['id']}", 42)
    assert entry["details"] == {"move_out_date": day(40), "previous_end_date": None}
