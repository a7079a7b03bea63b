"""GET /internal/users/{id}/holds: what auth asks before it erases a customer's personal data (their live bookings
and rentals). Booking keeps no personal data of its own (ids, dates, amounts, receipts), so it has no CustomerErased
handler."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from jeshkit.clock import nairobi_today

CUSTOMER, OTHER = 5, 6


def _book(client, signing_keys, day, unit, *, user=CUSTOMER, start=1, end=5, plan="fixed"):
    body = {"unit_id": unit, "start_date": day(start), "plan": plan}
    if end is not None:
        body["end_date"] = day(end)
    r = client.post("/api/bookings", json=body, headers=signing_keys.headers(user))
    assert r.status_code == 201, r.text
    return r.json()["data"]


def _confirm(kit, booking, payment_id):
    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=payment_id))
    kit.wait_events("BookingConfirmed", booking_id=booking["id"])


def _holds(client, user_id):
    r = client.get(f"/internal/users/{user_id}/holds")
    assert r.status_code == 200, r.text
    return r.json()["data"]["holds"]


def test_only_live_bookings_and_rentals_are_holds(start_booking, kit, signing_keys, day):
    client = start_booking(hold_sweep_interval_seconds=3600)  # an expired hold stays pending, unswept
    for unit in range(1, 9):
        kit.seed_unit(unit)
    awaiting = _book(client, signing_keys, day, 1)
    expired = _book(client, signing_keys, day, 2)
    confirmed = _book(client, signing_keys, day, 3, end=30)
    ended = _book(client, signing_keys, day, 4)
    cancelled = _book(client, signing_keys, day, 5)
    rental = _book(client, signing_keys, day, 6, end=None, plan="monthly")
    moving_out = _book(client, signing_keys, day, 7, end=None, plan="monthly")
    _book(client, signing_keys, day, 8, user=OTHER)
    for n, booking in enumerate((confirmed, ended, rental, moving_out), start=1):
        _confirm(kit, booking, payment_id=n)
    assert client.post(f"/api/bookings/{cancelled['id']}/cancel",
                       headers=signing_keys.headers(CUSTOMER)).status_code == 200
    r = client.post(f"/api/bookings/{moving_out['id']}/move-out", json={"move_out_date": day(40)},
                    headers=signing_keys.headers(CUSTOMER))
    assert r.status_code == 200, r.text
    today = nairobi_today()
    with kit.db.begin() as conn:
        conn.execute(text("UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = :id"),
                     {"id": expired["id"]})
        # A booking that ended today (end_date is exclusive): its last day was yesterday.
        conn.execute(text("UPDATE bookings SET start_date = :start, end_date = :end WHERE id = :id"),
                     {"id": ended["id"], "start": today - timedelta(days=10), "end": today})

    assert _holds(client, CUSTOMER) == [
        {"kind": "booking", "id": awaiting["id"], "detail": f"booking {awaiting['id']} (unit U-1) is awaiting payment"},
        {"kind": "booking", "id": confirmed["id"],
         "detail": f"booking {confirmed['id']} (unit U-3) is confirmed until {day(30)}"},
        {"kind": "booking", "id": rental["id"], "detail": f"monthly rental {rental['id']} (unit U-6) is live"},
        {"kind": "booking", "id": moving_out["id"],
         "detail": f"monthly rental {moving_out['id']} (unit U-7) is confirmed until {day(40)}"},
    ]

    with kit.db.begin() as conn:  # the rental's move-out day has come, the awaiting hold ran out
        conn.execute(text("UPDATE bookings SET start_date = :start, end_date = :today WHERE id = :id"),
                     {"id": moving_out["id"], "start": today - timedelta(days=40), "today": today})
        conn.execute(text("UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = :id"),
                     {"id": awaiting["id"]})
    assert [hold["id"] for hold in _holds(client, CUSTOMER)] == [confirmed["id"], rental["id"]]


def test_a_user_booking_has_never_heard_of_has_no_holds(start_booking):
    client = start_booking()
    assert _holds(client, 999) == []
    assert client.get("/internal/users/0/holds").status_code == 404  # not an id
