"""Reactions to PaymentSucceeded / PaymentFailed: confirm, retry, and never lose money that arrives late."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.orm import Session

from booking import service
from booking.handlers import on_payment_succeeded
from jeshkit.events import PaymentSucceeded
from jeshkit.outbox import Event
from jeshstack.testing import wait_for


def _book(client, headers, day, unit=1, start=1, end=5):
    r = client.post("/api/bookings", json={"unit_id": unit, "start_date": day(start), "end_date": day(end)},
                    headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def _admin_view(client, signing_keys, booking_id):
    found = client.get("/api/bookings", headers=signing_keys.headers(1, "admin")).json()["data"]
    return next(b for b in found if b["id"] == booking_id)


def _wait_status(kit, booking_id, status, payment_status):
    return wait_for(
        lambda: (row := kit.booking_row(booking_id))["status"] == status
        and row["payment_status"] == payment_status
        and row,
        what=f"booking {booking_id} {status}/{payment_status}",
    )


def test_payment_succeeded_confirms_the_booking(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(5), day)

    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=77))

    row = _wait_status(kit, booking["id"], "confirmed", "success")
    paid = (row["payment_id"], row["payment_receipt"], row["amount_paid"])
    assert paid == (77, "RCPT000077", booking["total_price"])
    [confirmed] = kit.wait_events("BookingConfirmed", booking_id=booking["id"])
    assert confirmed == {"booking_id": booking["id"], "user_id": 5, "unit_id": 1, "start_date": day(1),
                         "end_date": day(5), "total_price": booking["total_price"],
                         "plan": "fixed", "monthly_rate": None}
    seen = client.get("/api/bookings/5", headers=signing_keys.headers(5)).json()["data"][0]
    assert (seen["status"], seen["payment_status"]) == ("confirmed", "success")
    assert "hold_expires_at" not in seen
    assert _book(client, signing_keys.headers(6), day, start=5, end=6)  # adjacent to a confirmed one
    assert client.post("/api/bookings", json={"unit_id": 1, "start_date": day(4), "end_date": day(6)},
                       headers=signing_keys.headers(6)).status_code == 400


def test_payment_failed_keeps_the_booking_pending_and_payable(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(5), day)

    kit.bus.publish("PaymentFailed", {**kit.payment(booking, payment_id=1), "result_code": 1032,
                                      "reason": "Request cancelled by user"})
    _wait_status(kit, booking["id"], "pending", "failed")
    seen = client.get("/api/bookings", headers=signing_keys.headers(5)).json()["data"][0]
    assert (seen["status"], seen["payment_status"]) == ("pending", "failed")
    assert "hold_expires_at" in seen
    assert client.post("/api/bookings", json={"unit_id": 1, "start_date": day(1), "end_date": day(2)},
                       headers=signing_keys.headers(6)).status_code == 400  # still held

    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=2))  # the retry
    _wait_status(kit, booking["id"], "confirmed", "success")
    assert kit.events("RefundRequired") == []


def test_a_late_failure_never_downgrades_a_confirmed_booking(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(5), day)
    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=1))
    _wait_status(kit, booking["id"], "confirmed", "success")

    kit.bus.publish("PaymentFailed", {**kit.payment(booking, payment_id=2), "result_code": 1037, "reason": "timeout"})
    kit.seed_unit(2)  # a later event applied: the consumer is past the failure
    time.sleep(0.2)
    row = kit.booking_row(booking["id"])
    assert (row["status"], row["payment_status"]) == ("confirmed", "success")


def test_a_redelivered_payment_changes_nothing(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(5), day)
    event = kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=1))
    _wait_status(kit, booking["id"], "confirmed", "success")

    kit.bus.publish("PaymentSucceeded", event["data"], event_id=event["id"], dedupe=False)  # same event again
    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=1))  # same payment, new event id
    kit.seed_unit(2)  # a later event applied: the consumer is past both
    kit.wait_events("BookingConfirmed", 1)
    time.sleep(0.3)  # a second confirmation would have been relayed by now
    assert len(kit.events("BookingConfirmed")) == 1
    assert kit.events("RefundRequired") == []


def test_a_second_payment_for_a_confirmed_booking_is_recorded_for_refund(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(5), day)
    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=1))
    _wait_status(kit, booking["id"], "confirmed", "success")

    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=2))

    [refund] = kit.wait_events("RefundRequired", booking_id=booking["id"])
    assert refund == {"booking_id": booking["id"], "user_id": 5, "unit_id": 1, "amount": booking["total_price"],
                      "payment_id": 2, "receipt": "RCPT000002", "reason": "duplicate_payment"}
    view = _admin_view(client, signing_keys, booking["id"])
    assert view["status"] == "confirmed" and view["refund_status"] == "required"
    assert [(r["payment_id"], r["reason"]) for r in view["refunds"]] == [(2, "duplicate_payment")]


def test_a_payment_after_expiry_reconfirms_when_the_dates_are_still_free(start_booking, kit, signing_keys, day):
    client = start_booking(booking_hold_seconds=1, hold_sweep_interval_seconds=0.2)
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(5), day)
    _wait_status(kit, booking["id"], "cancelled", "pending")
    kit.wait_events("UnitReleased", booking_id=booking["id"])

    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=9))

    row = _wait_status(kit, booking["id"], "confirmed", "success")
    assert (row["cancel_reason"], row["cancelled_at"]) == (None, None)
    kit.wait_events("BookingConfirmed", booking_id=booking["id"])
    assert kit.events("RefundRequired") == []
    assert _admin_view(client, signing_keys, booking["id"])["refund_status"] is None
    assert client.post("/api/bookings", json={"unit_id": 1, "start_date": day(2), "end_date": day(3)},
                       headers=signing_keys.headers(6)).status_code == 400  # its dates are taken again


def test_a_payment_after_expiry_is_recorded_for_refund_when_the_dates_are_taken(start_booking, kit,
                                                                               signing_keys, day):
    client = start_booking(booking_hold_seconds=1, hold_sweep_interval_seconds=0.2)
    kit.seed_unit(1)
    late = _book(client, signing_keys.headers(5), day, start=1, end=10)
    _wait_status(kit, late["id"], "cancelled", "pending")
    taker = _book(client, signing_keys.headers(6), day, start=8, end=12)
    kit.bus.publish("PaymentSucceeded", kit.payment(taker, payment_id=1))
    _wait_status(kit, taker["id"], "confirmed", "success")

    kit.bus.publish("PaymentSucceeded", kit.payment(late, payment_id=2))

    [refund] = kit.wait_events("RefundRequired", booking_id=late["id"])
    assert refund == {"booking_id": late["id"], "user_id": 5, "unit_id": 1, "amount": late["total_price"],
                      "payment_id": 2, "receipt": "RCPT000002", "reason": "dates_taken"}
    row = kit.booking_row(late["id"])
    assert (row["status"], row["payment_status"], row["cancel_reason"]) == ("cancelled", "success", "expired")
    assert kit.booking_row(taker["id"])["status"] == "confirmed"
    assert kit.events("BookingConfirmed", booking_id=late["id"]) == []

    view = _admin_view(client, signing_keys, late["id"])
    assert view["refund_status"] == "required"
    [entry] = view["refunds"]
    assert (entry["payment_id"], entry["amount"], entry["receipt"], entry["reason"], entry["status"]) == (
        2, late["total_price"], "RCPT000002", "dates_taken", "required")
    owing = client.get("/api/bookings?refund_status=required", headers=signing_keys.headers(1, "admin")).json()
    assert [b["id"] for b in owing["data"]] == [late["id"]]
    mine = client.get("/api/bookings/5", headers=signing_keys.headers(5)).json()["data"][0]
    assert "refund_status" not in mine and "refunds" not in mine  # admin-only


def test_a_payment_for_a_booking_the_customer_cancelled_is_recorded_for_refund(start_booking, kit,
                                                                              signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(5), day)
    assert client.post(f"/api/bookings/{booking['id']}/cancel", headers=signing_keys.headers(5)).status_code == 200

    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=3))

    [refund] = kit.wait_events("RefundRequired", booking_id=booking["id"])
    assert refund["reason"] == "booking_cancelled" and refund["amount"] == booking["total_price"]
    assert kit.booking_row(booking["id"])["status"] == "cancelled"


def test_a_payment_for_an_unknown_booking_is_parked_without_blocking_others(start_booking, kit, signing_keys,
                                                                           day):
    client = start_booking()
    kit.seed_unit(1)
    kit.bus.publish("PaymentSucceeded", kit.payment({"id": 999, "user_id": 1, "total_price": 10}))
    booking = _book(client, signing_keys.headers(5), day)
    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=4))
    _wait_status(kit, booking["id"], "confirmed", "success")


def test_a_payment_for_an_unknown_booking_is_parked_and_an_admin_replays_it_once_the_booking_exists(
    start_booking, kit, signing_keys, day
):
    client = start_booking()
    kit.seed_unit(1)
    first = _book(client, signing_keys.headers(5), day)
    later_id = first["id"] + 1  # the next booking, not made yet
    payment = {**kit.payment(first, payment_id=91), "booking_id": later_id}
    kit.bus.publish("PaymentSucceeded", payment)

    admin = signing_keys.headers(1, "admin")
    parked = wait_for(lambda: client.get("/api/bookings/admin/dead-letters", headers=admin).json()["data"],
                      what="the payment parked")
    assert [(p["consumer"], p["event_type"]) for p in parked] == [("booking", "PaymentSucceeded")]
    assert parked[0]["error"].startswith(f"UnknownReference: payment 91 succeeded for unknown booking {later_id}")
    assert client.get("/api/bookings/admin/dead-letters", headers=signing_keys.headers(5)).status_code == 403
    refused = client.post(f"/api/bookings/admin/dead-letters/{parked[0]['id']}/replay", headers=admin)
    assert refused.status_code == 409 and "unknown booking" in refused.json()["message"]  # still unknown

    later = _book(client, signing_keys.headers(5), day, start=6, end=9)
    assert later["id"] == later_id
    r = client.post(f"/api/bookings/admin/dead-letters/{parked[0]['id']}/replay", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["outcome"] == "applied"
    assert kit.booking_row(later_id)["status"] == "confirmed"
    assert client.get("/api/bookings/admin/dead-letters", headers=admin).json()["data"] == []
    assert client.post(f"/api/bookings/admin/dead-letters/{parked[0]['id']}/replay", headers=admin).status_code == 404


def test_confirming_reads_no_refunds_and_an_admin_page_reads_them_in_one_query(start_booking, kit, signing_keys,
                                                                                day):
    client = start_booking()
    kit.seed_unit(1)
    first, second = _book(client, signing_keys.headers(5), day), _book(client, signing_keys.headers(5), day, 1, 6, 8)
    kit.bus.publish("PaymentSucceeded", kit.payment(first, payment_id=1))
    kit.bus.publish("PaymentSucceeded", kit.payment(first, payment_id=2))  # a duplicate: a refund
    kit.wait_events("RefundRequired", booking_id=first["id"])
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(kit.db, "before_cursor_execute", seen)
    try:
        data = kit.payment(second, payment_id=3)
        with Session(kit.db) as session:
            on_payment_succeeded(session, PaymentSucceeded.parse(data), Event(
                id=str(uuid.uuid4()), type="PaymentSucceeded", version=1, occurred_at=data["paid_at"],
                source="payments", data=data))
            session.commit()
        assert not [s for s in statements if "FROM refunds" in s]  # confirming never needed them
        with Session(kit.db) as session:
            mine = service.list_bookings(session=session, user_id=5)
            assert len(mine) == 2 and not [s for s in statements if "FROM refunds" in s]
            page = service.list_bookings(session=session, user_id=5, with_refunds=True)
            assert [len(b.refunds) for b in sorted(page, key=lambda b: b.id)] == [1, 0]
        assert len([s for s in statements if "FROM refunds" in s]) == 1  # one query for the page
    finally:
        sa_event.remove(kit.db, "before_cursor_execute", seen)
    assert kit.booking_row(second["id"])["status"] == "confirmed"


def _refund_paid(booking, *, payment_id, amount, refund_id=7):
    return {"refund_id": refund_id, "booking_id": booking["id"], "invoice_id": None, "payment_id": payment_id,
            "user_id": booking["user_id"], "amount": amount, "method": "mpesa", "receipt": f"RFD{refund_id}"}


def test_a_refund_is_no_longer_owed_once_payments_has_paid_it(start_booking, kit, signing_keys, day):
    """The admin's 'Owing a refund' filter and badge read booking's refunds, which stayed `required` for good: a
    refund paid back months ago still showed as owed. RefundPaid of that payment marks it paid, with the amount
    payments paid (less the cancellation fee for an owner's cancellation)."""
    client = start_booking()
    kit.seed_unit(1)
    kit.seed_unit(2)
    twice = _book(client, signing_keys.headers(5), day)
    kit.bus.publish("PaymentSucceeded", kit.payment(twice, payment_id=1))
    _wait_status(kit, twice["id"], "confirmed", "success")
    kit.bus.publish("PaymentSucceeded", kit.payment(twice, payment_id=2))
    kit.wait_events("RefundRequired", booking_id=twice["id"])
    cancelled = _book(client, signing_keys.headers(6), day, unit=2)
    kit.bus.publish("PaymentSucceeded", kit.payment(cancelled, payment_id=3))
    _wait_status(kit, cancelled["id"], "confirmed", "success")
    assert client.post(f"/api/bookings/{cancelled['id']}/cancel", headers=signing_keys.headers(6)).status_code == 200
    admin = signing_keys.headers(1, "admin")

    def owing() -> list[int]:
        return sorted(b["id"] for b in client.get("/api/bookings?refund_status=required", headers=admin).json()["data"])

    assert owing() == sorted([twice["id"], cancelled["id"]])

    kit.bus.publish("RefundPaid", _refund_paid(twice, payment_id=9, amount=100))  # another payment's: not this one
    kit.bus.publish("RefundPaid", _refund_paid(twice, payment_id=2, amount=twice["total_price"]))
    kit.bus.publish("RefundPaid", _refund_paid(cancelled, payment_id=3, amount=cancelled["total_price"] - 100,
                                               refund_id=8))  # payments kept a fee of 100
    wait_for(lambda: owing() == [], what="both refunds paid")
    first, second = _admin_view(client, signing_keys, twice["id"]), _admin_view(client, signing_keys, cancelled["id"])
    assert first["refund_status"] is None and second["refund_status"] is None
    assert [(r["payment_id"], r["amount"], r["status"]) for r in first["refunds"]] == [
        (2, twice["total_price"], "paid")]
    assert [(r["payment_id"], r["amount"], r["status"], r["reason"]) for r in second["refunds"]] == [
        (3, cancelled["total_price"] - 100, "paid", "cancelled_after_payment")]


def test_a_payment_so_late_that_the_dates_are_past_is_refunded_not_confirmed(start_booking, kit, signing_keys, day):
    """A hold expired, then the money came (a late card notice) once the booking's whole range was past: it was
    confirmed again, its money kept for dates that were over."""
    client = start_booking(booking_hold_seconds=1, hold_sweep_interval_seconds=0.2)
    kit.seed_unit(1)
    late = _book(client, signing_keys.headers(5), day, start=1, end=3)
    _wait_status(kit, late["id"], "cancelled", "pending")
    with kit.db.begin() as conn:  # its dates, seen some days later
        conn.execute(text("UPDATE bookings SET start_date = start_date - 5, end_date = end_date - 5 WHERE id = :b"),
                     {"b": late["id"]})

    kit.bus.publish("PaymentSucceeded", kit.payment(late, payment_id=4))

    [refund] = kit.wait_events("RefundRequired", booking_id=late["id"])
    assert (refund["payment_id"], refund["amount"], refund["reason"]) == (4, late["total_price"], "dates_passed")
    row = kit.booking_row(late["id"])
    assert (row["status"], row["payment_status"], row["cancel_reason"]) == ("cancelled", "success", "expired")
    assert kit.events("BookingConfirmed", booking_id=late["id"]) == []
