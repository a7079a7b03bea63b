"""CustomerErased (Kenya's DPA s.40): the customer's contact details and the texts and addresses of their messages
go for good; the message rows stay for the counts and the delivery reports; nothing is sent to them any more."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from jeshstack.testing import wait_for
from notifications.erasure import ERASED_CANCELLED
from notifications.held import encode
from notifications.texts import NAIROBI

PHONE, OTHER_PHONE = "254712345601", "254712345602"
ERASED_AT = "2031-03-01T09:00:00+00:00"


def erase(n, user_id: int, erased_at: str = ERASED_AT) -> dict[str, object]:
    env = n.publish("CustomerErased", {"user_id": user_id, "erased_at": erased_at}, source="auth")
    wait_for(lambda: handled(n, env["id"]), what=f"user {user_id} erased")
    return env


def handled(n, event_id: str) -> bool:
    with n.db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM inbox WHERE event_id = :id"), {"id": event_id}).scalar_one() > 0


def publish_handled(n, event_type: str, data: dict[str, object], source: str) -> None:
    env = n.publish(event_type, data, source=source)
    wait_for(lambda: handled(n, env["id"]), what=f"{event_type} handled")


def refund(user_id: int, refund_id: int = 1) -> dict[str, object]:
    return {"refund_id": refund_id, "booking_id": 5, "invoice_id": None, "user_id": user_id, "amount": 3500,
            "method": "mpesa", "receipt": f"RFD{refund_id}"}


def reminder(user_id: int) -> dict[str, object]:
    return {"invoice_id": 7, "number": "INV-7", "booking_id": 70, "user_id": user_id, "total": 3500,
            "balance": 3500, "due_date": "2031-01-05", "period_start": "2031-01-05", "period_end": "2031-02-04",
            "days_until_due": 3}


def personal(row: dict[str, object]) -> tuple[object, ...]:
    return row["to"], row["subject"], row["body"]


def test_the_contact_and_the_messages_are_scrubbed_and_the_rows_stay(n):
    n.user(1, phone=PHONE, name="Wanjiku Kamau", email="wanjiku@example.co.ke", language="sw")
    n.user(2, phone=OTHER_PHONE, name="Achieng Otieno", email="achieng@example.co.ke")
    n.publish("RefundPaid", refund(1), source="payments")
    n.publish("RefundPaid", refund(2, 2), source="payments")
    n.wait_rows(4, template="refund_paid")
    n.wait_status("delivered", channel="sms", user_id=1)
    n.wait_status("sent", channel="email", user_id=1)
    n.wait_status("delivered", channel="sms", user_id=2)
    before = {r["id"]: r for r in n.rows(user_id=1)}
    other_before = n.rows(user_id=2)
    assert len(before) == 4 and all(r["body"] for r in before.values())

    erase(n, 1)
    recipient = n.recipient(1) or {}
    assert (recipient["email"], recipient["phone"], recipient["name"]) == (None, None, None)
    assert recipient["erased_at"] == datetime.fromisoformat(ERASED_AT)
    assert recipient["language"] == "sw"  # a preference, not the person
    after = n.rows(user_id=1)
    assert [personal(r) for r in after] == [("", None, "")] * 4
    kept = ("id", "template", "channel", "status", "language", "provider_id", "created_at", "sent_at",
            "delivered_at", "attempts")
    assert [{k: r[k] for k in kept} for r in after] == [{k: before[r["id"]][k] for k in kept} for r in after]
    # Another customer is untouched.
    assert n.rows(user_id=2) == other_before
    assert (n.recipient(2) or {})["phone"] == OTHER_PHONE and (n.recipient(2) or {})["erased_at"] is None

    # The messages listing (an admin's view of the customer) shows no personal text.
    listed = n.client.get("/api/notifications", params={"user_id": 1},
                          headers=n.keys.headers(900, "admin")).json()["data"]
    assert len(listed) == 4 and {(m["to"], m["body"]) for m in listed} == {("", "")}
    assert "Wanjiku" not in json.dumps(listed) and PHONE not in json.dumps(listed)

    # A delivery report arriving later is taken, and brings nothing back.
    sms = next(r for r in after if r["channel"] == "sms" and r["template"] == "refund_paid")
    token = n.sms.callback_url.rsplit("/", 1)[1]
    with n.db.begin() as conn:
        conn.execute(text("UPDATE notifications SET status = 'sent' WHERE id = :id"), {"id": sms["id"]})
    answer = n.client.post(f"/api/notifications/hooks/sms/{token}",
                           data={"id": sms["provider_id"], "status": "Success", "phoneNumber": f"+{PHONE}"})
    assert answer.status_code == 200 and answer.json()["success"] is True
    reported = n.rows(id=sms["id"])[0]
    assert reported["status"] == "delivered" and personal(reported) == ("", None, "")


def test_a_late_user_event_or_auths_answer_does_not_bring_the_customer_back(n):
    n.user(3, phone=PHONE, name="Wanjiku Kamau")
    erase(n, 3)
    publish_handled(n, "UserUpdated", {"user_id": 3, "email": "back@example.co.ke", "phone": PHONE,
                                       "name": "Wanjiku Kamau", "role": "user"}, source="auth")
    publish_handled(n, "UserRegistered", {"user_id": 3, "email": "back@example.co.ke", "name": "Wanjiku Kamau",
                                          "role": "user", "phone": PHONE}, source="auth")
    recipient = n.recipient(3) or {}
    assert (recipient["email"], recipient["phone"], recipient["name"]) == (None, None, None)
    assert recipient["erased_at"] is not None
    assert {personal(r) for r in n.rows(user_id=3)} == {("", None, "")}  # the second welcome: none

    # A message the contact finder had claimed before the erasure: auth is not asked, nothing is restored or sent.
    n.auth.add(3, phone=PHONE, email="back@example.co.ke")
    with n.db.begin() as conn:
        conn.execute(text("INSERT INTO held_messages (user_id, source_key, template, params) "
                          "VALUES (3, 'held-refund', 'refund_paid', CAST(:params AS jsonb))"),
                     {"params": json.dumps(encode({"booking_id": 5, "amount": 3500, "receipt": "R"}))})
    wait_for(lambda: not n.held(), what="the held message handled")
    assert n.auth.asked == [] and (n.recipient(3) or {})["email"] is None
    assert n.rows(source_key="held-refund") == []


def test_an_event_after_the_erasure_sends_nothing_and_a_second_erasure_is_harmless(n):
    n.user(4, phone=PHONE)
    n.user(5, phone=OTHER_PHONE)
    n.wait_status("delivered", channel="sms", user_id=4)
    n.wait_status("sent", channel="email", user_id=4)
    erase(n, 4)
    erased_at = (n.recipient(4) or {})["erased_at"]
    booking = {"booking_id": 41, "user_id": 4, "unit_id": 1, "start_date": "2031-01-05", "end_date": "2031-02-05",
               "reason": "admin"}
    publish_handled(n, "BookingCancelled", booking, source="booking")
    publish_handled(n, "RefundPaid", refund(4), source="payments")
    publish_handled(n, "PasswordChanged", {"user_id": 4, "how": "changed"}, source="auth")
    assert {r["template"] for r in n.rows(user_id=4)} == {"welcome"}
    assert n.held(user_id=4) == []

    # The same erasure again (redelivered past the inbox, or published twice): nothing changes.
    rows = n.rows(user_id=4)
    erase(n, 4, "2031-04-01T09:00:00+00:00")
    erase(n, 4)
    assert n.rows(user_id=4) == rows
    assert (n.recipient(4) or {})["erased_at"] == erased_at
    # The other customer still gets their messages.
    n.publish("RefundPaid", refund(5, 5), source="payments")
    n.wait_rows(2, template="refund_paid", user_id=5)


def test_an_unknown_user_erased_stays_erased_when_auth_speaks_of_them_later(n):
    erase(n, 6)
    assert (n.recipient(6) or {})["erased_at"] is not None
    publish_handled(n, "UserRegistered", {"user_id": 6, "email": "six@example.co.ke", "name": "Juma",
                                          "role": "user", "phone": PHONE}, source="auth")
    assert (n.recipient(6) or {})["email"] is None and n.rows(user_id=6) == [] and n.held(user_id=6) == []


def test_messages_not_sent_yet_are_cancelled_not_sent(start_notifications):
    now = datetime.now(NAIROBI)
    quiet = f"{(now - timedelta(hours=1)):%H:00}-{(now + timedelta(hours=2)):%H:00}"
    n = start_notifications(sms_up=False, notify_quiet_hours=quiet, notify_hold_reminder_seconds=0)
    n.user(7, phone=PHONE, email="seven@example.co.ke")
    n.user(8, phone=OTHER_PHONE, email="eight@example.co.ke")
    # The welcome SMS retrying (the gateway is down), a reminder waiting for the quiet hours to end, a hold
    # reminder planned, a message held while auth cannot say who the customer is.
    wait_for(lambda: all(r["attempts"] >= 1 for r in n.rows(channel="sms", template="welcome")) and len(
        n.rows(channel="sms", template="welcome")) == 2, what="the welcome SMS retrying")
    n.wait_status("sent", channel="email", template="welcome")
    for user_id in (7, 8):
        n.publish("InvoiceReminder", reminder(user_id), source="billing")
        n.publish("BookingCreated", {"booking_id": 70 + user_id, "user_id": user_id, "unit_id": 1,
                                     "start_date": "2031-01-05", "end_date": "2031-02-05", "total_price": 3500,
                                     "hold_expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
                  source="booking")
    n.wait_rows(4, template="payment_reminder")
    with n.db.begin() as conn:
        conn.execute(text("INSERT INTO held_messages (user_id, source_key, template, params, next_attempt_at) "
                          "VALUES (7, 'held-7', 'refund_paid', CAST(:params AS jsonb), now() + interval '1 hour')"),
                     {"params": json.dumps(encode({"booking_id": 5, "amount": 3500, "receipt": "R"}))})

    def notices(user_id: int) -> int:
        with n.db.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM scheduled_notices s JOIN booking_facts f "
                                         "USING (booking_id) WHERE f.user_id = :u"), {"u": user_id}).scalar_one())

    wait_for(lambda: notices(7) and notices(8), what="the hold reminders planned")

    erase(n, 7)
    pending = [r for r in n.rows(user_id=7) if r["sent_at"] is None]
    assert sorted((r["template"], r["channel"]) for r in pending) == [
        ("payment_reminder", "email"), ("payment_reminder", "sms"), ("welcome", "sms")]
    assert {(r["status"], r["last_error"]) for r in pending} == {("failed", ERASED_CANCELLED)}
    # A waiting reminder's values (kept to render it again in a language chosen meanwhile) go with its text.
    assert [r["params"] for r in n.rows(user_id=7)] == [None] * len(n.rows(user_id=7))
    assert all(r["params"] for r in n.rows(user_id=8, template="payment_reminder"))
    assert n.held(user_id=7) == [] and notices(7) == 0 and notices(8) == 1

    # The gateway back, every queued message due now: the other customer's welcome goes (their reminder waits for
    # the quiet hours' end even when due in them), the erased one's messages never do.
    with n.db.begin() as conn:
        conn.execute(text("UPDATE notifications SET next_attempt_at = now() WHERE status = 'queued'"))
    n.sms.start()
    n.wait_status("sent", "delivered", user_id=8, template="welcome", timeout=20)
    wait_for(lambda: all(r["status"] == "queued" and r["attempts"] == 0 and r["next_attempt_at"] > datetime.now(UTC)
                         for r in n.rows(user_id=8, template="payment_reminder")),
             what="the other customer's reminders deferred again")
    assert [m["to"] for m in n.sms.messages()] == [f"+{OTHER_PHONE}"]
    assert not n.mail.mail("seven@example.co.ke")[1:]  # the welcome only, sent before the erasure
    # Erased again: still cancelled, and still saying why.
    erase(n, 7, "2031-04-01T09:00:00+00:00")
    assert {(r["status"], r["last_error"]) for r in n.rows(user_id=7) if r["sent_at"] is None} == {
        ("failed", ERASED_CANCELLED)}


def two_sms_due(db, key: str, *, recipients: bool = False) -> None:
    """Only two SMS in the table, to users 1 and 2, due a minute ago (source keys `{key}-1`, `{key}-2`)."""
    from sqlalchemy import text as sql

    with db.begin() as conn:
        conn.execute(sql("TRUNCATE notifications"))
        for user_id, to in ((1, "254700000001"), (2, "254700000002")):
            if recipients:
                conn.execute(sql(
                    "INSERT INTO recipients (user_id, phone, name, email) VALUES (:u, :to, 'Wanjiku', :email) "
                    "ON CONFLICT (user_id) DO NOTHING"), {"u": user_id, "to": to, "email": f"u{user_id}@example.co.ke"})
            conn.execute(sql(
                "INSERT INTO notifications (source_key, user_id, channel, \"to\", template, language, body, "
                "next_attempt_at) VALUES (:key, :u, 'sms', :to, 'welcome', 'en', :body, now() - interval '1 minute')"),
                {"key": f"{key}-{user_id}", "u": user_id, "to": to, "body": f"Hello {user_id}"})


class MeanwhileOnTheFirstSend:
    """The SMS channel of one round of the sender: records what it sends, and does `meanwhile` as the first goes."""

    name = "sms"

    def __init__(self, meanwhile: Any) -> None:
        self.sent: list[str] = []
        self.meanwhile = meanwhile

    def send(self, message: Any) -> str:
        self.sent.append(message.to)
        if len(self.sent) == 1:
            self.meanwhile()
        return f"id-{len(self.sent)}"

    def close(self) -> None:
        pass


def one_round(db, channel: MeanwhileOnTheFirstSend) -> int:
    from jeshkit.db import make_session_factory
    from notifications.delivery import Retry, send_due

    return send_due(make_session_factory(db), channels={"sms": channel},
                    retry=Retry(max_attempts=3, base_seconds=1, max_seconds=5, lease_seconds=60), batch_size=10)


def test_a_message_claimed_before_its_customer_was_erased_does_not_go(db):
    """The erasure race: the sender claimed a round of messages, and while it sent the first, the second one's
    customer was erased. The second is looked at again just before it goes, and does not."""
    from sqlalchemy import text as sql

    from jeshkit.db import make_session_factory
    from notifications.erasure import erase_customer

    two_sms_due(db, "race", recipients=True)

    def erase_the_second() -> None:
        with make_session_factory(db)() as session:
            erase_customer(session=session, user_id=2, erased_at=datetime.now(UTC))
            session.commit()

    channel = MeanwhileOnTheFirstSend(erase_the_second)
    assert one_round(db, channel) == 2 and channel.sent == ["254700000001"]
    with db.connect() as conn:
        rows = dict(conn.execute(sql("SELECT user_id, status FROM notifications WHERE source_key LIKE 'race-%'")).all())
    assert rows == {1: "sent", 2: "failed"}  # 2: cancelled by the erasure, never sent


def test_a_message_another_replica_claimed_again_meanwhile_is_not_sent_twice(db):
    """A slow provider: this round outlasted its lease, and another replica claimed the round's second message (its
    attempt counted) while the first was on its way. Before: looked at again, it was still queued, and went from both
    replicas. Now the round sends only what is still its own, and leases each message anew as it sends it."""
    from sqlalchemy import text as sql

    two_sms_due(db, "lease")

    def claim_the_second_elsewhere() -> None:
        with db.begin() as conn:
            conn.execute(sql("UPDATE notifications SET attempts = attempts + 1, "
                             "next_attempt_at = now() + interval '2 minutes' WHERE source_key = 'lease-2'"))

    channel = MeanwhileOnTheFirstSend(claim_the_second_elsewhere)
    assert one_round(db, channel) == 2 and channel.sent == ["254700000001"]  # the second is the other replica's
    with db.connect() as conn:
        rows = {row[0]: row[1:] for row in conn.execute(sql(
            "SELECT source_key, status, attempts FROM notifications WHERE source_key LIKE 'lease-%'")).all()}
    assert rows == {"lease-1": ("sent", 1), "lease-2": ("queued", 2)}
