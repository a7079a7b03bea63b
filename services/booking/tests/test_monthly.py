"""Monthly rentals: booking one (open-ended or not), its hold of [start, infinity), and the move-out notice."""

from __future__ import annotations


def _monthly(client, headers, day, unit=1, start=1, end=None):
    body = {"unit_id": unit, "start_date": day(start), "plan": "monthly"}
    if end is not None:
        body["end_date"] = day(end)
    return client.post("/api/bookings", json=body, headers=headers)


def _confirm(kit, booking, payment_id=1):
    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=payment_id))
    kit.wait_events("BookingConfirmed", booking_id=booking["id"])


def test_a_monthly_rental_charges_the_first_month_and_holds_the_unit_from_its_start(
    start_booking, kit, signing_keys, day
):
    client = start_booking()
    kit.seed_unit(1, monthly_price=4500)

    r = _monthly(client, signing_keys.headers(5), day, start=3)
    assert r.status_code == 201, r.text
    booking = r.json()["data"]
    assert (booking["plan"], booking["monthly_rate"], booking["total_price"]) == ("monthly", 4500, 4500)
    assert booking["end_date"] is None and booking["status"] == "pending"
    [created] = kit.wait_events("BookingCreated", booking_id=booking["id"])
    assert (created["plan"], created["monthly_rate"], created["end_date"]) == ("monthly", 4500, None)

    far = client.post("/api/bookings", json={"unit_id": 1, "start_date": day(400), "end_date": day(401)},
                      headers=signing_keys.headers(6))
    assert far.status_code == 400 and far.json()["message"] == "Unit not available"
    before = client.post("/api/bookings", json={"unit_id": 1, "start_date": day(1), "end_date": day(3)},
                         headers=signing_keys.headers(6))
    assert before.status_code == 201  # the days before the rental starts stay bookable

    kit.seed_unit(1, monthly_price=9000)  # a later price change never touches the rental's rate
    _confirm(kit, booking)
    [confirmed] = kit.wait_events("BookingConfirmed", booking_id=booking["id"])
    assert (confirmed["plan"], confirmed["monthly_rate"], confirmed["total_price"]) == ("monthly", 4500, 4500)


def test_fixed_bookings_are_unchanged_and_still_need_an_end_date(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1, monthly_price=3000)
    r = client.post("/api/bookings", json={"unit_id": 1, "start_date": day(1)}, headers=signing_keys.headers(5))
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == ["end_date"]
    r = client.post("/api/bookings", json={"unit_id": 1, "start_date": day(1), "end_date": day(31)},
                    headers=signing_keys.headers(5))
    assert r.status_code == 201
    booking = r.json()["data"]
    assert booking["plan"] == "fixed" and "monthly_rate" not in booking and booking["total_price"] == 3000
    bad = client.post("/api/bookings", json={"unit_id": 1, "start_date": day(1), "plan": "weekly"},
                      headers=signing_keys.headers(5))
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "plan"


def test_a_monthly_rental_with_an_end_date_holds_only_its_range(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1, monthly_price=3000)
    r = _monthly(client, signing_keys.headers(5), day, start=1, end=61)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["end_date"] == day(61) and r.json()["data"]["total_price"] == 3000
    after = client.post("/api/bookings", json={"unit_id": 1, "start_date": day(61), "end_date": day(70)},
                        headers=signing_keys.headers(6))
    assert after.status_code == 201


def test_move_out_ends_the_rental_and_frees_the_later_dates_at_once(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    kit.seed_unit(2)
    booking = _monthly(client, signing_keys.headers(5), day, start=1).json()["data"]
    _confirm(kit, booking)

    r = client.post(f"/api/bookings/{booking['id']}/move-out", json={"move_out_date": day(40)},
                    headers=signing_keys.headers(5))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["end_date"] == day(40) and r.json()["data"]["status"] == "confirmed"
    [moved] = kit.wait_events("BookingMovedOut", booking_id=booking["id"])
    assert moved == {"booking_id": booking["id"], "user_id": 5, "unit_id": 1, "move_out_date": day(40)}
    [released] = kit.wait_events("UnitReleased", booking_id=booking["id"])
    assert released == {"booking_id": booking["id"], "unit_id": 1, "start_date": day(40), "end_date": None,
                        "reason": "moved_out"}
    # The answer left: the dates after the move-out are free, the ones before it are not.
    assert client.post("/api/bookings", json={"unit_id": 1, "start_date": day(40), "end_date": day(45)},
                       headers=signing_keys.headers(6)).status_code == 201
    assert client.post("/api/bookings", json={"unit_id": 1, "start_date": day(39), "end_date": day(40)},
                       headers=signing_keys.headers(6)).status_code == 400

    # An earlier date is still possible; a later one (after the end) or one in the past is not.
    assert client.post(f"/api/bookings/{booking['id']}/move-out", json={"move_out_date": day(41)},
                       headers=signing_keys.headers(5)).status_code == 400
    assert client.post(f"/api/bookings/{booking['id']}/move-out", json={"move_out_date": day(-1)},
                       headers=signing_keys.headers(5)).status_code == 400
    assert client.post(f"/api/bookings/{booking['id']}/move-out", json={"move_out_date": day(1)},
                       headers=signing_keys.headers(5)).status_code == 400  # not after start_date
    other = _monthly(client, signing_keys.headers(5), day, start=1, unit=2).json()["data"]
    _confirm(kit, other, payment_id=2)
    far = client.post(f"/api/bookings/{other['id']}/move-out", json={"move_out_date": "9999-12-31"},
                      headers=signing_keys.headers(5))  # an open-ended rental: no end to be under, but 5 years
    assert far.status_code == 400 and far.json()["errors"] == [
        {"field": "move_out_date", "message": "move_out_date must be within 5 years"}]
    admin = client.post(f"/api/bookings/{booking['id']}/move-out", json={"move_out_date": day(30)},
                        headers=signing_keys.headers(1, "admin"))
    assert admin.status_code == 200 and admin.json()["data"]["end_date"] == day(30)
    assert len(kit.wait_events("UnitReleased", 2, booking_id=booking["id"])) == 2


def test_move_out_is_refused_for_anything_but_a_confirmed_monthly_rental(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    kit.seed_unit(2)
    owner = signing_keys.headers(5)
    pending = _monthly(client, owner, day, unit=1).json()["data"]
    fixed = client.post("/api/bookings", json={"unit_id": 2, "start_date": day(1), "end_date": day(9)},
                        headers=owner).json()["data"]
    _confirm(kit, fixed)
    for booking in (pending, fixed):
        r = client.post(f"/api/bookings/{booking['id']}/move-out", json={"move_out_date": day(5)}, headers=owner)
        assert r.status_code == 409 and r.json()["success"] is False
    _confirm(kit, pending, payment_id=2)
    assert client.post(f"/api/bookings/{pending['id']}/move-out", json={"move_out_date": day(5)},
                       headers=signing_keys.headers(6)).status_code == 403
    assert client.post("/api/bookings/999999/move-out", json={"move_out_date": day(5)},
                       headers=owner).status_code == 404
    assert client.post(f"/api/bookings/{pending['id']}/move-out", json={}, headers=owner).status_code == 400


def test_an_invoice_payment_is_left_to_billing(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    booking = _monthly(client, signing_keys.headers(5), day).json()["data"]
    _confirm(kit, booking)
    kit.bus.publish("PaymentSucceeded", {**kit.payment(booking, payment_id=2), "invoice_id": 7})
    kit.bus.publish("PaymentFailed", {**kit.payment(booking, payment_id=3), "invoice_id": 7, "reason": "x"})
    _confirm(kit, client.post("/api/bookings", json={"unit_id": 1, "start_date": day(0), "end_date": day(1)},
                              headers=signing_keys.headers(6)).json()["data"], payment_id=4)  # consumer is past them
    row = kit.booking_row(booking["id"])
    assert (row["payment_status"], row["payment_id"]) == ("success", 1)
    assert kit.events("RefundRequired") == []
