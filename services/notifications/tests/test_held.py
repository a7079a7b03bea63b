"""A message for a user this service has no contact details for (their UserRegistered never came) is held, and
queued once auth says who they are; never lost while auth is away, dropped after a bound when auth has no such
user."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from jeshstack.testing import wait_for
from notifications.held import decode, encode
from notifications.texts import SAMPLES, Phrase

PHONE = "254700000040"


def paid_booking(n, user_id: int, booking_id: int, receipt: str) -> None:
    n.publish("BookingConfirmed", {"booking_id": booking_id, "user_id": user_id, "unit_id": 4,
                                   "start_date": "2031-01-05", "end_date": "2031-02-05", "total_price": 3500},
              source="booking")
    n.publish("PaymentSucceeded", {"payment_id": booking_id, "booking_id": booking_id, "user_id": user_id,
                                   "amount": 3500, "method": "mpesa", "receipt": receipt,
                                   "checkout_request_id": "ws_CO_1", "paid_at": n.later(0), "invoice_id": None},
              source="payments")


def test_a_payment_receipt_waits_while_auth_is_away_and_goes_once_auth_answers(n):
    n.auth.down = True
    paid_booking(n, 40, 401, "SBX40RCPT")
    # Held, and retried with backoff while auth cannot answer: nothing queued, nothing dropped.
    held = wait_for(lambda: rows if (rows := n.held(user_id=40)) and rows[0]["attempts"] >= 3 else None,
                    what="the receipt held and retried")
    assert [(r["template"], r["source_key"], r["misses"]) for r in held] == [
        ("booking_confirmed", "booking:401:confirmed", 0)]
    assert held[0]["last_error"] and n.rows(user_id=40) == []

    n.auth.add(40, phone=PHONE, email="forty@example.co.ke")
    n.auth.down = False
    rows = n.wait_status("sent", "delivered", user_id=40)
    assert sorted((r["channel"], r["to"]) for r in rows) == [("email", "forty@example.co.ke"), ("sms", PHONE)]
    sms = wait_for(lambda: n.sms.messages(PHONE), what="the receipt at the SMS gateway")
    assert len(sms) == 1 and "SBX40RCPT" in sms[0]["message"] and "KES 3,500" in sms[0]["message"]
    assert n.held() == []
    assert (n.recipient(40) or {}).get("phone") == PHONE

    # Known from now on: the next message goes at once, without asking auth again.
    asked = len(n.auth.asked)
    n.publish("RefundPaid", {"refund_id": 1, "booking_id": 401, "invoice_id": None, "user_id": 40, "amount": 3500,
                             "method": "mpesa", "receipt": "RFD40"}, source="payments")
    n.wait_rows(2, template="refund_paid")
    assert len(n.auth.asked) == asked and len(n.rows(user_id=40, template="booking_confirmed")) == 2


def test_a_user_auth_does_not_know_is_given_up_after_the_bound(start_notifications):
    n = start_notifications(notify_contact_max_misses=3)
    env = n.publish("RefundPaid", {"refund_id": 1, "booking_id": 5, "invoice_id": None, "user_id": 999,
                                   "amount": 100, "method": "mpesa", "receipt": "X"}, source="payments")
    wait_for(lambda: n.held(source_key=env["id"]), what="the refund message held")
    wait_for(lambda: not n.held(), what="the message given up")
    assert n.auth.asked == [999, 999, 999]
    assert n.rows() == [] and n.recipient(999) is None


def test_a_late_user_registered_does_not_undo_what_auth_answered(n):
    # The receipt was held and auth asked (UserRegistered had not come); auth's answer is the account as it is now,
    # and the UserRegistered delivered after it is older. Before, it put the phone of the registration back.
    n.auth.add(43, phone=PHONE, email="now@example.co.ke")
    paid_booking(n, 43, 431, "SBX43RCPT")
    n.wait_rows(2, user_id=43, template="booking_confirmed")
    env = n.publish_at("UserRegistered", {"user_id": 43, "email": "then@example.co.ke", "name": "Wanjiku",
                                          "role": "user", "phone": "254700000430"},
                       occurred_at=datetime.now(UTC) - timedelta(days=30), source="auth")
    wait_for(lambda: n.rows(source_key=env["id"]), what="the late UserRegistered handled (its welcome)")
    recipient = n.recipient(43) or {}
    assert (recipient["email"], recipient["phone"]) == ("now@example.co.ke", PHONE)
    assert {r["to"] for r in n.rows(source_key=env["id"])} == {"now@example.co.ke", PHONE}


def test_held_messages_keep_the_users_language_and_channel_choices(n):
    # The preferences were set before any contact detail was known: a row with no address.
    r = n.client.put("/api/notifications/preferences", json={"language": "sw", "sms": False},
                     headers=n.keys.headers(41))
    assert r.status_code == 200, r.text
    n.publish("InvoiceIssued", {"invoice_id": 7, "number": "INV-2031-00007", "booking_id": 70, "user_id": 41,
                                "total": 3500, "balance": 3500, "due_date": "2031-01-05",
                                "period_start": "2031-01-05", "period_end": "2031-02-04"}, source="billing")
    n.publish("PaymentFailed", {"payment_id": 9, "booking_id": 70, "user_id": 41, "amount": 3500, "method": "mpesa",
                                "result_code": 2001, "reason": "Daraja's words", "checkout_request_id": None},
              source="payments")
    wait_for(lambda: len(n.held(user_id=41)) == 2, what="both messages held")
    n.auth.add(41, phone="254700000041", name="Achieng Otieno")

    rows = n.wait_rows(3, user_id=41)
    assert sorted((r["template"], r["channel"]) for r in rows) == [
        ("invoice_issued", "email"), ("payment_failed", "email"), ("payment_failed", "sms")]  # a reminder: no SMS
    failed = next(r for r in rows if r["template"] == "payment_failed" and r["channel"] == "sms")
    assert failed["language"] == "sw" and "PIN ya M-PESA haikuwa sahihi" in failed["body"]
    assert (n.recipient(41) or {})["language"] == "sw" and n.held() == []


def test_every_templates_values_are_held_as_they_were_given():
    for template, values in {**SAMPLES, "payment_failed": {"reason": Phrase("payment_reasons", "1")}}.items():
        stored = json.loads(json.dumps(encode({**values, "at": datetime(2031, 1, 5, 8, tzinfo=UTC)})))
        assert decode(stored) == {**values, "at": datetime(2031, 1, 5, 8, tzinfo=UTC)}, template


def test_auth_is_found_by_auth_url_or_else_the_base_of_the_jwks_url():
    from notifications.settings import Settings

    jwks = "http://auth-2:8000/api/auth/.well-known/jwks.json"
    assert Settings(auth_jwks_url=jwks).auth_base_url == "http://auth-2:8000"
    assert Settings(auth_jwks_url=jwks, auth_url="http://auth:8000/").auth_base_url == "http://auth:8000"
    assert Settings(auth_jwks_url=jwks, auth_url=" ").auth_base_url == "http://auth-2:8000"


def test_a_held_hold_reminder_whose_hold_is_over_or_reset_link_expired_is_not_sent(n):
    from sqlalchemy import text

    n.auth.down = True
    ended = {"booking_id": 42, "amount": 3500, "expires": datetime(2020, 1, 1, 10, 30, tzinfo=UTC)}
    dead_link = {"link": "https://x.example/reset-password#token=t", "expires": datetime(2020, 1, 1, tzinfo=UTC)}
    with n.db.begin() as conn:  # as the scheduler (or a reaction) holds them for a user with no contact details
        for key, template, values in (("hold-over", "hold_expiring", ended), ("link-over", "password_reset", dead_link),
                                      ("refund", "refund_paid", {"booking_id": 42, "amount": 3500, "receipt": "R"})):
            conn.execute(text("INSERT INTO held_messages (user_id, source_key, template, params) "
                              "VALUES (42, :key, :template, CAST(:params AS jsonb))"),
                         {"key": key, "template": template, "params": json.dumps(encode(values))})
    n.auth.add(42)
    n.auth.down = False
    n.wait_rows(2, user_id=42)
    wait_for(lambda: not n.held(), what="both held messages handled")
    assert sorted(r["template"] for r in n.rows(user_id=42)) == ["refund_paid", "refund_paid"]
