"""The sender: once per message whatever the replicas, retries from the database, permanent failures, reports,
quiet hours and opt-outs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from jeshstack.testing import metric, wait_for
from notifications.texts import NAIROBI


def refund(user_id: int, refund_id: int = 1) -> dict[str, object]:
    return {"refund_id": refund_id, "booking_id": 5, "invoice_id": None, "user_id": user_id, "amount": 3500,
            "method": "mpesa", "receipt": f"RFD{refund_id}"}


def reminder(user_id: int, invoice_id: int = 7) -> dict[str, object]:
    return {"invoice_id": invoice_id, "number": f"INV-{invoice_id}", "booking_id": 70, "user_id": user_id,
            "total": 3500, "balance": 3500, "due_date": "2031-01-05", "period_start": "2031-01-05",
            "period_end": "2031-02-04", "days_until_due": 3}


def test_two_replicas_send_each_message_once(start_notifications):
    n = start_notifications()
    start_notifications()
    start_notifications()
    for user_id in range(1, 6):
        n.user(user_id, phone=f"25470000100{user_id}")
    for refund_id in range(1, 11):
        n.publish("RefundPaid", refund(1 + refund_id % 5, refund_id), source="payments")
    n.wait_rows(2 * 15)
    n.wait_status("sent", "delivered", channel="sms")
    n.wait_status("sent", "delivered", channel="email")
    sent = n.sms.messages()
    assert len(sent) == 15
    assert len({(m["to"], m["message"]) for m in sent}) == 15
    assert len(n.mail.mail()) == 15
    assert all(r["attempts"] == 1 for r in n.rows())


def test_delivery_reports_update_the_status(n):
    n.user(1, phone="254712345678")
    n.user(2, phone="254700009999")  # the simulator reports this number's messages as not delivered
    delivered = n.wait_status("delivered", user_id=1, channel="sms")
    assert delivered[0]["provider_id"].startswith("ATXid_")
    failed = n.wait_status("failed", user_id=2, channel="sms")
    assert failed[0]["last_error"] == "delivery report: Failed"
    n.wait_status("sent", user_id=2, channel="email")  # email has no delivery reports


def test_the_hook_needs_its_token_and_ignores_what_it_does_not_know(n):
    n.user(1)
    row = n.wait_status("delivered", user_id=1, channel="sms")[0]
    wrong = n.client.post("/api/notifications/hooks/sms/not-the-token", data={"id": row["provider_id"],
                                                                              "status": "Failed"})
    assert wrong.status_code == 404 and wrong.json()["success"] is False
    token = n.sms.callback_url.rsplit("/", 1)[1]
    for form in ({"id": "ATXid_unknown", "status": "Success"}, {"status": "Success"}, {"id": row["provider_id"],
                                                                                      "status": "Buffered"}):
        answer = n.client.post(f"/api/notifications/hooks/sms/{token}", data=form)
        assert answer.status_code == 200 and answer.json()["success"] is True
    # Not a report: answered 200 as any other (before, JSON nested deeper than the parser goes: 500).
    for body in ("not json", "[1]", "[" * 5000 + "]" * 5000, '{"id":' * 3000 + "1" + "}" * 3000):
        answer = n.client.post(f"/api/notifications/hooks/sms/{token}", content=body,
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 200
    # A late failure report never turns a delivered message back.
    n.client.post(f"/api/notifications/hooks/sms/{token}", data={"id": row["provider_id"], "status": "Failed"})
    assert n.rows(id=row["id"])[0]["status"] == "delivered"
    # A NUL in a form's field is no report (before: 500, the database refused it).
    odd = n.client.post(f"/api/notifications/hooks/sms/{token}", content="id=ATX%00b&status=Success",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert odd.status_code == 200 and odd.json()["success"] is True
    # A report sent as JSON is read too.
    with n.db.begin() as conn:
        conn.execute(text("UPDATE notifications SET status = 'sent' WHERE id = :id"), {"id": row["id"]})
    n.client.post(f"/api/notifications/hooks/sms/{token}", json={"id": row["provider_id"], "status": "Success"})
    assert n.rows(id=row["id"])[0]["status"] == "delivered"


def test_a_permanently_refused_number_is_failed_at_once_not_retried(n):
    n.user(1, phone="254700000403")  # the simulator answers 403 InvalidPhoneNumber
    row = n.wait_status("failed", user_id=1, channel="sms")[0]
    assert row["attempts"] == 1 and "403 InvalidPhoneNumber" in row["last_error"]
    assert n.sms.messages() == []


def test_a_transient_refusal_is_retried_then_failed_after_the_last_attempt(start_notifications):
    n = start_notifications(notify_max_attempts=3)
    n.user(1, phone="254700000500")  # the simulator answers 500 InternalServerError every time
    row = n.wait_status("failed", user_id=1, channel="sms")[0]
    assert row["attempts"] == 3 and "500 InternalServerError" in row["last_error"]


def test_sms_gateway_down_then_back_the_message_is_retried_and_sent(start_notifications):
    n = start_notifications(sms_up=False)
    n.user(1, phone="254712345678")
    queued = wait_for(lambda: [r for r in n.rows(channel="sms") if r["attempts"] >= 2], what="failed attempts")
    assert queued[0]["status"] == "queued" and "unreachable" in queued[0]["last_error"]
    # What the alert NotificationsNotGoingOut watches: SMS failing and waiting, e-mail going.
    assert metric(n.client, 'jesh_notifications_retrying{channel="sms"}') == 1
    assert metric(n.client, 'jesh_notifications_retrying{channel="email"}') == 0
    assert metric(n.client, 'jesh_notifications_retrying_oldest_age_seconds{channel="sms"}') > 0
    n.sms.start()
    n.wait_status("sent", "delivered", channel="sms", timeout=20)
    assert len(n.sms.messages("254712345678")) == 1
    assert metric(n.client, 'jesh_notifications_retrying{channel="sms"}') == 0



def test_quiet_hours_defer_a_reminder_and_let_a_receipt_through(start_notifications):
    now = datetime.now(NAIROBI)
    quiet = f"{(now - timedelta(hours=1)):%H:00}-{(now + timedelta(hours=2)):%H:00}"
    n = start_notifications(notify_quiet_hours=quiet)
    n.user(1, phone="254712345678")
    n.publish("InvoiceReminder", reminder(1), source="billing")
    n.publish("RefundPaid", refund(1), source="payments")
    n.wait_status("sent", "delivered", template="refund_paid")
    deferred = n.wait_rows(2, template="payment_reminder")
    end = datetime.combine(now.date(), datetime.strptime(quiet[-5:], "%H:%M").time(), tzinfo=NAIROBI)
    if end <= now:
        end += timedelta(days=1)
    for row in deferred:
        assert row["status"] == "queued" and row["attempts"] == 0
        assert row["next_attempt_at"] == end.astimezone(UTC)
    assert not any("Reminder" in m["message"] for m in n.sms.messages())
    # Turning SMS off withdraws the waiting SMS reminder (and only it).
    assert n.client.put("/api/notifications/preferences", json={"sms": False},
                        headers=n.keys.headers(1)).status_code == 200
    assert [r["channel"] for r in n.rows(template="payment_reminder")] == ["email"]
    assert len(n.rows(template="refund_paid")) == 2
    # A reminder due again inside the quiet hours (a retry after a failure: due a few minutes later) waits for their
    # end too, its claim's attempt given back. Before: retries went out in the night.
    with n.db.begin() as conn:
        conn.execute(text("UPDATE notifications SET next_attempt_at = now() WHERE template = 'payment_reminder'"))
    [again] = wait_for(lambda: [r for r in n.rows(template="payment_reminder")
                                if r["next_attempt_at"] == end.astimezone(UTC)], what="the reminder deferred again")
    assert again["status"] == "queued" and again["attempts"] == 0
    assert not any("INV-7" in m.as_string() for m in n.mail.mail())  # the welcome and the receipt only


def test_turning_sms_off_withdraws_a_reminder_waiting_to_be_tried_again(start_notifications):
    # Before: only reminders never tried were withdrawn; one whose first try failed went once SMS was back.
    n = start_notifications(sms_up=False)
    n.user(1, phone="254712345678")
    n.publish("InvoiceReminder", reminder(1), source="billing")
    wait_for(lambda: [r for r in n.rows(template="payment_reminder", channel="sms") if r["attempts"] >= 1],
             what="a failed try of the SMS reminder")
    assert n.client.put("/api/notifications/preferences", json={"sms": False},
                        headers=n.keys.headers(1)).status_code == 200
    n.sms.start()
    n.wait_status("failed", template="payment_reminder", channel="sms", timeout=20)
    assert n.rows(template="payment_reminder", channel="sms")[0]["last_error"].startswith("withdrawn")
    n.wait_status("sent", "delivered", template="payment_reminder", channel="email")
    n.wait_status("sent", "delivered", template="welcome", channel="sms", timeout=20)  # SMS is back: others go
    assert not any(m["message"].startswith("Reminder") for m in n.sms.messages())


def test_a_reminder_waiting_for_its_retry_follows_a_payment_and_a_new_phone(start_notifications):
    """The SMS gateway down at 08:00: the reminders' first tries failed and wait for a retry. Before, only a message
    never tried changed: a customer who paid at 08:05 read "KES 3,500 due" at 08:10, on the number they had just
    replaced."""
    n = start_notifications(sms_up=False, notify_retry_base_seconds=600, notify_retry_max_seconds=600)
    n.user(1, phone="254712345678")
    n.publish("InvoiceReminder", reminder(1, 7), source="billing")
    n.publish("InvoiceReminder", reminder(1, 8), source="billing")
    n.publish("InvoiceReminder", reminder(1, 9), source="billing")

    def sms_reminder(number: str) -> dict[str, object]:
        [row] = [r for r in n.rows(template="payment_reminder", channel="sms") if f"invoice {number}," in r["body"]]
        return row

    wait_for(lambda: all(r["last_error"] for r in n.wait_rows(3, template="payment_reminder", channel="sms")),
             what="the SMS reminders tried once, waiting for their retry")
    # INV-9's as if a sender had it on its way (its lease): whatever comes meanwhile leaves it as it is.
    with n.db.begin() as conn:
        conn.execute(text("UPDATE notifications SET sending_until = now() + interval '1 hour' WHERE id = :id"),
                     {"id": sms_reminder("INV-9")["id"]})
    n.publish("InvoicePaid", {**{k: v for k, v in reminder(1, 9).items() if k != "days_until_due"}, "balance": 0,
                              "amount_paid": 3500, "receipt": "QK43", "method": "mpesa", "payment_id": 43},
              source="billing")
    n.publish("RentPaymentApplied", {
        "payment_id": 41, "booking_id": 70, "user_id": 1, "amount": 1000, "method": "mpesa", "receipt": "QK41",
        "invoices": [{"invoice_id": 7, "number": "INV-7", "amount": 1000}], "balance": 5500, "credit": 0,
        "refund": 0}, source="billing")
    n.publish("InvoicePaid", {**{k: v for k, v in reminder(1, 8).items() if k != "days_until_due"}, "balance": 0,
                              "amount_paid": 3500, "receipt": "QK42", "method": "mpesa", "payment_id": 42},
              source="billing")
    n.publish("UserUpdated", {"user_id": 1, "email": "user1@example.co.ke", "phone": "254722000111",
                              "name": "Wanjiku Kamau", "role": "user"}, source="auth")
    wait_for(lambda: sms_reminder("INV-7")["to"] == "254722000111", what="the new phone on the waiting reminder")
    paid = sms_reminder("INV-8")
    assert (paid["status"], paid["last_error"]) == ("failed", "withdrawn: the invoice was paid")
    assert paid["attempts"] == 1  # the failed try stays in the log
    assert "KES 2,500 due" in sms_reminder("INV-7")["body"]
    on_its_way = sms_reminder("INV-9")
    assert (on_its_way["status"], on_its_way["to"]) == ("queued", "254712345678")
    with n.db.begin() as conn:  # what its send would have made of it: not part of what follows
        conn.execute(text("DELETE FROM notifications WHERE id = :id"), {"id": on_its_way["id"]})
    # The gateway back: the one reminder left goes, to the new phone, for what is left.
    n.sms.start()
    with n.db.begin() as conn:
        conn.execute(text("UPDATE notifications SET next_attempt_at = now() WHERE status = 'queued'"))
    n.wait_status("sent", "delivered", template="payment_reminder", channel="sms", id=sms_reminder("INV-7")["id"])
    sent = [(m["to"], m["message"]) for m in n.sms.messages() if m["message"].startswith("Reminder")]
    assert sent == [("+254722000111", "Reminder: invoice INV-7, KES 2,500 due 5 Jan 2031 (in 3 days). "
                                      "Pay by M-PESA to keep access to your unit.")]


def test_an_opt_out_stops_reminders_not_receipts(n):
    n.user(1, phone="254712345678", email="one@example.co.ke")
    r = n.client.put("/api/notifications/preferences", json={"sms": False}, headers=n.keys.headers(1))
    assert r.status_code == 200 and r.json()["data"] == {"user_id": 1, "language": "en", "sms": False, "email": True}
    n.publish("InvoiceReminder", reminder(1), source="billing")
    n.publish("RefundPaid", refund(1), source="payments")
    n.wait_rows(2, template="refund_paid")
    reminders = n.wait_rows(1, template="payment_reminder")
    n.wait_status("sent", "delivered", template="refund_paid")
    assert [r["channel"] for r in reminders] == ["email"]
    texts = [m["message"] for m in n.sms.messages()]
    assert any(t.startswith("Refund of KES 3,500") for t in texts)
    assert not any(t.startswith("Reminder") for t in texts)


def test_a_hold_reminder_is_dropped_when_the_booking_is_confirmed_or_cancelled_first(start_notifications):
    n = start_notifications(notify_hold_reminder_seconds=60)
    n.user(1, phone="254712345678")
    ends = (datetime.now(UTC) + timedelta(seconds=62)).isoformat()  # reminder due in 2 s
    booking = {"booking_id": 11, "user_id": 1, "unit_id": 1, "start_date": "2031-01-05", "end_date": "2031-02-05",
               "total_price": 3500, "hold_expires_at": ends}
    for booking_id in (11, 12, 13):
        n.publish("BookingCreated", {**booking, "booking_id": booking_id}, source="booking")
    n.publish("BookingConfirmed", {k: v for k, v in booking.items() if k != "hold_expires_at"}, source="booking")
    n.publish("BookingCancelled", {"booking_id": 12, "user_id": 1, "unit_id": 1, "start_date": "2031-01-05",
                                   "end_date": "2031-02-05", "reason": "user"}, source="booking")
    reminders = n.wait_rows(2, template="hold_expiring", timeout=20)
    assert {r["body"].split(" is held")[0] for r in reminders if r["channel"] == "sms"} == {"Wanjiku, booking #13"}

    def scheduled() -> int:
        with n.db.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM scheduled_notices WHERE kind = 'hold_expiring'"))
                       .scalar_one())

    assert scheduled() == 0


def test_a_booking_created_event_arriving_after_the_booking_was_settled_plans_no_reminder(start_notifications):
    n = start_notifications(notify_hold_reminder_seconds=0)  # reminders due when the hold ends, in an hour
    n.user(1, phone="254712345678")
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    booking = {"booking_id": 91, "user_id": 1, "unit_id": 1, "start_date": "2031-01-05", "end_date": "2031-02-05",
               "total_price": 3500}
    n.publish("BookingConfirmed", booking, source="booking")
    n.publish("BookingCancelled", {**booking, "booking_id": 92, "end_date": None, "reason": "admin"},
              source="booking")
    n.wait_rows(2, template="booking_cancelled")
    for booking_id in (91, 92, 93):  # 93: still pending, its reminder is planned
        n.publish("BookingCreated", {**booking, "booking_id": booking_id, "hold_expires_at": ends}, source="booking")

    def planned() -> list[tuple[str, int]] | None:
        with n.db.connect() as conn:
            # The count first: an event's inbox row and its notice commit together, so once the count says all six
            # are in, a later statement sees every notice (read the other way round, a commit in between showed
            # the notices without the last event's while the count already had it).
            handled = conn.execute(text("SELECT count(*) FROM inbox")).scalar_one()
            rows = conn.execute(text("SELECT kind, booking_id FROM scheduled_notices ORDER BY booking_id, kind"))
            notices = [(kind, booking_id) for kind, booking_id in rows]
        return notices if handled >= 6 else None

    assert wait_for(planned, what="the events handled") == [("receipt_wait", 91), ("hold_expiring", 93)]


def test_a_reminder_waiting_for_the_quiet_hours_goes_in_the_language_chosen_meanwhile(start_notifications):
    """A customer who switches to Swahili at 22:00 gets the 08:00 reminder in Swahili (it was queued in English and
    went so); a message already sent stays as it went."""
    now = datetime.now(NAIROBI)
    quiet = f"{(now - timedelta(hours=1)):%H:00}-{(now + timedelta(hours=2)):%H:00}"
    n = start_notifications(notify_quiet_hours=quiet)
    n.user(1, phone="254712345678")
    n.user(2, phone="254712345679", language="sw")  # the same reminder, for someone who chose Swahili before
    n.publish("InvoiceReminder", reminder(1), source="billing")
    n.publish("InvoiceReminder", reminder(2), source="billing")
    n.publish("RefundPaid", refund(1), source="payments")
    n.wait_status("sent", "delivered", template="refund_paid")
    n.wait_rows(4, template="payment_reminder")

    def waiting(user_id: int) -> dict[str, tuple[str, str | None, str]]:
        rows = n.rows(template="payment_reminder", user_id=user_id)
        assert all(r["status"] == "queued" and r["attempts"] == 0 for r in rows)
        return {r["channel"]: (r["language"], r["subject"], r["body"]) for r in rows}

    swahili, english = waiting(2), waiting(1)
    assert {language for language, _, _ in english.values()} == {"en"} and english != swahili
    r = n.client.put("/api/notifications/preferences", json={"language": "sw"}, headers=n.keys.headers(1))
    assert r.status_code == 200 and r.json()["data"]["language"] == "sw"
    assert waiting(1) == swahili  # rendered again: the same words, subject and all, as the Swahili customer's
    listed = n.client.get("/api/notifications", params={"template": "payment_reminder"},
                          headers=n.keys.headers(1)).json()["data"]
    assert {(m["language"], m["body"]) for m in listed} == {("sw", body) for _, _, body in swahili.values()}
    [receipt] = n.rows(template="refund_paid", channel="sms")
    assert receipt["language"] == "en"  # sent already: as it went
    # Back to English, and an opt-out in the same request: the email reminder is English again, the SMS withdrawn.
    r = n.client.put("/api/notifications/preferences", json={"language": "en", "sms": False},
                     headers=n.keys.headers(1))
    assert r.status_code == 200
    assert waiting(1) == {"email": english["email"]}


def test_a_reminder_waiting_for_the_quiet_hours_is_withdrawn_once_its_invoice_is_paid(start_notifications):
    """Billing's day starts at 06:00, in the quiet hours: its reminders wait for 08:00. A customer who pays at 06:05
    (autopay's push) got at 08:00 "KES 3,500 due today, pay by M-PESA" for an invoice paid already; one whose rental
    was cancelled or given notice meanwhile, for an invoice voided."""
    now = datetime.now(NAIROBI)
    quiet = f"{(now - timedelta(hours=1)):%H:00}-{(now + timedelta(hours=2)):%H:00}"
    n = start_notifications(notify_quiet_hours=quiet)
    n.user(1, phone="254712345678")
    n.publish("InvoiceIssued", {k: v for k, v in reminder(1, 8).items() if k != "days_until_due"}, source="billing")
    n.publish("InvoiceReminder", reminder(1, 7), source="billing")
    n.publish("InvoiceOverdue", {**{k: v for k, v in reminder(1, 7).items() if k != "days_until_due"},
                                 "days_overdue": 5, "late_fee": 500}, source="billing")
    n.wait_rows(2, template="invoice_overdue")
    n.wait_rows(2, template="payment_reminder")
    n.wait_rows(2, template="invoice_issued")
    n.publish("InvoicePaid", {**{k: v for k, v in reminder(1, 7).items() if k != "days_until_due"}, "balance": 0,
                              "amount_paid": 3500, "receipt": "QK1", "method": "mpesa", "payment_id": 31},
              source="billing")
    wait_for(lambda: not n.rows(template="payment_reminder"), what="invoice 7's reminders withdrawn")
    assert n.rows(template="invoice_overdue") == []
    # Another invoice's reminder, still unpaid, still waits.
    assert [(r["status"], "INV-8" in r["body"]) for r in n.rows(template="invoice_issued")] == [("queued", True)] * 2
    # A rental cancelled: the reminders of the invoices it voids (months from tomorrow on) go no more; the month under
    # way stays owed, its reminder still waits, and so does another rental's.
    def issued(invoice_id: int, booking_id: int, due: str) -> None:
        n.publish("InvoiceIssued", {**{k: v for k, v in reminder(1, invoice_id).items() if k != "days_until_due"},
                                    "booking_id": booking_id, "due_date": due, "period_start": due}, source="billing")

    today = datetime.now(NAIROBI).date()
    issued(9, 71, "2031-01-05")
    issued(10, 71, today.isoformat())
    n.wait_rows(6, template="invoice_issued")
    n.publish("BookingCancelled", {"booking_id": 71, "user_id": 1, "unit_id": 1, "start_date": "2030-12-05",
                                   "end_date": None, "reason": "admin"}, source="booking")
    n.wait_rows(2, template="booking_cancelled")

    def issued_waiting() -> list[str]:
        return sorted(r["body"].split(":")[0] for r in n.rows(template="invoice_issued", channel="sms"))

    assert issued_waiting() == ["Invoice INV-10", "Invoice INV-8"]
    # A move-out notice: the months starting on or after its date are voided, their reminders withdrawn.
    issued(11, 72, "2031-01-05")
    issued(12, 72, "2031-02-05")
    n.wait_rows(8, template="invoice_issued")
    n.publish("BookingMovedOut", {"booking_id": 72, "user_id": 1, "unit_id": 2, "move_out_date": "2031-02-05"},
              source="booking")
    wait_for(lambda: "Invoice INV-12" not in issued_waiting(), what="the voided month's reminder withdrawn")
    assert issued_waiting() == ["Invoice INV-10", "Invoice INV-11", "Invoice INV-8"]


def test_a_reminder_waiting_for_the_quiet_hours_goes_to_the_phone_and_email_the_customer_has_now(start_notifications):
    """A customer who changed their number at 22:00 (a lost SIM: the old number may be someone else's by now) got the
    08:00 reminder, their invoice and balance, on the old number."""
    now = datetime.now(NAIROBI)
    quiet = f"{(now - timedelta(hours=1)):%H:00}-{(now + timedelta(hours=2)):%H:00}"
    n = start_notifications(notify_quiet_hours=quiet)
    n.user(1, phone="254712345678", email="old@example.co.ke")
    n.publish("InvoiceReminder", reminder(1), source="billing")
    n.wait_rows(2, template="payment_reminder")
    # The welcome goes at once (quiet hours hold reminders only): gone before the change, it stays as it went. Waited
    # for, not assumed: under a loaded machine it was still queued when the new details came, and went to them.
    n.wait_rows(2, template="welcome")
    n.wait_status("sent", "delivered", template="welcome")

    def updated(phone: str | None, email: str) -> None:
        n.publish("UserUpdated", {"user_id": 1, "email": email, "phone": phone, "name": "Wanjiku Kamau",
                                  "role": "user"}, source="auth")
        wait_for(lambda: (n.recipient(1) or {}).get("phone") == phone, what="the new details")

    def waiting() -> dict[str, tuple[str, str]]:
        return {r["channel"]: (r["status"], r["to"]) for r in n.rows(template="payment_reminder")}

    updated("254722000111", "new@example.co.ke")
    assert waiting() == {"sms": ("queued", "254722000111"), "email": ("queued", "new@example.co.ke")}
    # The phone removed: the SMS still waiting goes nowhere (not to the old number); the email still waits.
    updated(None, "new@example.co.ke")
    assert waiting() == {"sms": ("failed", "254722000111"), "email": ("queued", "new@example.co.ke")}
    assert n.rows(template="payment_reminder", channel="sms")[0]["last_error"].startswith("withdrawn")
    assert [r["to"] for r in n.rows(template="welcome")] == ["254712345678", "old@example.co.ke"]  # sent: as it went


def test_a_reminder_waiting_for_the_quiet_hours_asks_for_what_is_left_after_a_part_payment(start_notifications):
    """A customer who paid KES 1,000 of 3,500 at 06:30 read "KES 3,500 due" at 08:00 (and might pay it all again)."""
    now = datetime.now(NAIROBI)
    quiet = f"{(now - timedelta(hours=1)):%H:00}-{(now + timedelta(hours=2)):%H:00}"
    n = start_notifications(notify_quiet_hours=quiet)
    n.user(1, phone="254712345678")
    n.publish("InvoiceReminder", reminder(1, 7), source="billing")
    n.publish("InvoiceReminder", reminder(1, 8), source="billing")
    n.wait_rows(4, template="payment_reminder")
    applied = {"payment_id": 41, "booking_id": 70, "user_id": 1, "amount": 1000, "method": "mpesa", "receipt": "QK41",
               "invoices": [{"invoice_id": 7, "number": "INV-7", "amount": 1000}], "balance": 6000, "credit": 0,
               "refund": 0}
    n.publish("RentPaymentApplied", applied, source="billing")
    n.wait_rows(2, template="payment_received")

    def waiting(number: str) -> list[tuple[str, str, str | None]]:
        return sorted((r["channel"], r["body"], r["subject"]) for r in n.rows(template="payment_reminder")
                      if f"invoice {number}," in r["body"])

    [(_, email, subject), (_, sms, _)] = waiting("INV-7")
    assert sms == ("Reminder: invoice INV-7, KES 2,500 due 5 Jan 2031 (in 3 days). "
                   "Pay by M-PESA to keep access to your unit.")
    assert sms in email and subject == "Reminder: invoice INV-7 due 5 Jan 2031"
    assert all("KES 3,500" in body for _, body, _ in waiting("INV-8"))  # another invoice: as it was
    # The rest paid: nothing left to ask for.
    n.publish("RentPaymentApplied", {**applied, "payment_id": 42, "amount": 2500, "receipt": "QK42",
                                     "invoices": [{"invoice_id": 7, "number": "INV-7", "amount": 2500}]},
              source="billing")
    n.wait_rows(4, template="payment_received")
    assert waiting("INV-7") == [] and len(waiting("INV-8")) == 2
