"""Inventory is told at once, over HTTP after the commit, what a booking, a cancellation or a move-out did to the
unit's dates (the stream tells it too, a moment later); when it cannot be told, the answer is not held up."""

from __future__ import annotations


def test_booking_cancelling_and_moving_out_tell_inventory_at_once(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(3)
    owner = signing_keys.headers(5)
    booking = client.post("/api/bookings", json={"unit_id": 3, "start_date": day(1), "end_date": day(11)},
                          headers=owner).json()["data"]
    [(unit_id, kind, data)] = kit.inventory.told  # before the answer left
    assert (unit_id, kind) == (3, "BookingCreated")
    assert data == {"booking_id": booking["id"], "user_id": 5, "unit_id": 3, "start_date": day(1),
                    "end_date": day(11), "total_price": 1000, "plan": "fixed", "monthly_rate": None,
                    "hold_expires_at": data["hold_expires_at"]}
    assert data["hold_expires_at"].startswith(booking["hold_expires_at"][:19])

    assert client.post(f"/api/bookings/{booking['id']}/cancel", headers=owner).status_code == 200
    assert kit.inventory.told[-1] == (3, "BookingCancelled", {
        "booking_id": booking["id"], "user_id": 5, "unit_id": 3, "start_date": day(1), "end_date": day(11),
        "reason": "user"})

    rental = client.post("/api/bookings", json={"unit_id": 3, "start_date": day(1), "plan": "monthly"},
                         headers=owner).json()["data"]
    kit.bus.publish("PaymentSucceeded", kit.payment(rental))
    kit.wait_events("BookingConfirmed", booking_id=rental["id"])
    assert client.post(f"/api/bookings/{rental['id']}/move-out", json={"move_out_date": day(40)},
                       headers=owner).status_code == 200
    assert kit.inventory.told[-1] == (3, "BookingMovedOut", {
        "booking_id": rental["id"], "user_id": 5, "unit_id": 3, "move_out_date": day(40)})


def test_a_refusal_tells_nothing_and_inventory_away_holds_nothing_up(start_booking, kit, signing_keys, day):
    from jeshstack.procs import free_port

    client = start_booking()
    kit.seed_unit(3)
    owner = signing_keys.headers(5)
    first = client.post("/api/bookings", json={"unit_id": 3, "start_date": day(1), "end_date": day(5)}, headers=owner)
    assert client.post("/api/bookings", json={"unit_id": 3, "start_date": day(2), "end_date": day(3)},
                       headers=owner).status_code == 400
    assert client.post(f"/api/bookings/{first.json()['data']['id']}/cancel",
                       headers=signing_keys.headers(6)).status_code == 403
    assert [kind for _, kind, _ in kit.inventory.told] == ["BookingCreated"]

    away = start_booking(inventory_url=f"http://127.0.0.1:{free_port()}")
    r = away.post("/api/bookings", json={"unit_id": 3, "start_date": day(10), "end_date": day(12)}, headers=owner)
    assert r.status_code == 201, r.text  # from the copy, and nobody told: the stream will
    assert away.post(f"/api/bookings/{r.json()['data']['id']}/cancel", headers=owner).status_code == 200
