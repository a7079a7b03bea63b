"""Each event makes its message once per channel, in the user's language, sent through the simulators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jeshkit.clock import NAIROBI
from jeshstack.testing import wait_for

PHONE = "254712345678"


def invoice(user_id: int, **extra: object) -> dict[str, object]:
    return {"invoice_id": 7, "number": "INV-2031-00007", "booking_id": 70, "user_id": user_id, "total": 3500,
            "balance": 3500, "due_date": "2031-01-05", "period_start": "2031-01-05", "period_end": "2031-02-04",
            **extra}


def applied(user_id: int, *paid: tuple[int, str, int], **extra: object) -> dict[str, object]:
    """RentPaymentApplied's data: a payment billing applied to rental 70, with what it paid on each invoice."""
    return {"payment_id": 40, "booking_id": 70, "user_id": user_id, "amount": sum(p[2] for p in paid),
            "method": "mpesa", "receipt": "SBX9", "balance": 0, "credit": 0, "refund": 0,
            "invoices": [{"invoice_id": i, "number": number, "amount": amount} for i, number, amount in paid], **extra}


def test_welcome_goes_once_by_sms_and_email(n):
    env = n.user(1, phone=PHONE, email="wanjiku@example.co.ke")
    rows = n.wait_status("sent", "delivered", user_id=1, template="welcome")
    assert sorted(r["channel"] for r in rows) == ["email", "sms"]
    sms = wait_for(lambda: n.sms.messages(PHONE), what="the SMS at the gateway")
    assert len(sms) == 1 and sms[0]["to"] == "+254712345678"
    assert sms[0]["message"].startswith("Karibu Jesh Storage, Wanjiku!")
    mails = wait_for(lambda: n.mail.mail("wanjiku@example.co.ke"), what="the email")
    assert mails[0]["Subject"] == "Welcome to Jesh Storage"
    assert {part.get_content_type() for part in mails[0].iter_parts()} == {"text/plain", "text/html"}

    # The same event again (a redelivery past JetStream's de-duplication): nothing new is sent.
    n.publish("UserRegistered", env["data"], event_id=env["id"], source="auth", dedupe=False)
    wait_for(lambda: _inbox_has(n, env["id"]), what="the redelivery handled")
    n.publish("UserUpdated", {"user_id": 1, "email": "wanjiku@example.co.ke", "phone": PHONE,
                              "name": "Wanjiku Kamau", "role": "user"}, source="auth")
    wait_for(lambda: _inbox_count(n) >= 2, what="UserUpdated handled")
    assert len(n.rows(user_id=1)) == 2
    assert len(n.sms.messages(PHONE)) == 1
    assert len(n.mail.mail("wanjiku@example.co.ke")) == 1


def _inbox_has(n, event_id: str) -> bool:
    from sqlalchemy import text

    with n.db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM inbox WHERE event_id = :id"), {"id": event_id}).scalar_one() > 0


def _inbox_count(n) -> int:
    from sqlalchemy import text

    with n.db.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM inbox")).scalar_one())


def test_user_updated_changes_where_messages_go(n):
    n.user(2, phone="254700000002")
    n.publish("UserUpdated", {"user_id": 2, "email": "new@example.co.ke", "phone": "254700000222",
                              "name": "Achieng Otieno", "role": "user"}, source="auth")
    wait_for(lambda: (n.recipient(2) or {}).get("phone") == "254700000222", what="the new phone")
    n.publish("RefundPaid", {"refund_id": 1, "booking_id": 5, "invoice_id": None, "user_id": 2, "amount": 3500,
                             "method": "mpesa", "receipt": "RFD123"}, source="payments")
    rows = n.wait_rows(2, template="refund_paid")
    assert {r["to"] for r in rows} == {"254700000222", "new@example.co.ke"}
    sms = next(r for r in rows if r["channel"] == "sms")
    assert sms["body"] == "Refund of KES 3,500 for booking #5 sent to your M-PESA, ref RFD123."


def test_an_older_user_event_applied_after_a_newer_one_changes_nothing(n):
    # A nak'ed and retried (or redelivered) UserUpdated may be applied after the one that followed it. Before, the
    # last applied won: the old phone and email came back.
    now = datetime.now(UTC)
    n.publish_at("UserRegistered", {"user_id": 8, "email": "first@example.co.ke", "name": "Achieng", "role": "user",
                                    "phone": "254700000008"}, occurred_at=now - timedelta(hours=2), source="auth")
    newest = {"user_id": 8, "email": "newest@example.co.ke", "phone": "254700000888", "name": "Achieng Otieno",
              "role": "user"}
    n.publish_at("UserUpdated", newest, occurred_at=now, source="auth")
    wait_for(lambda: (n.recipient(8) or {}).get("phone") == "254700000888", what="the newest phone")
    older = n.publish_at("UserUpdated", {"user_id": 8, "email": "older@example.co.ke", "phone": "254700000080",
                                         "name": "Achieng O.", "role": "user"},
                         occurred_at=now - timedelta(hours=1), source="auth")
    wait_for(lambda: _inbox_has(n, older["id"]), what="the older UserUpdated handled")
    recipient = n.recipient(8) or {}
    assert (recipient["email"], recipient["phone"], recipient["name"]) == (
        "newest@example.co.ke", "254700000888", "Achieng Otieno")
    # A later change still applies.
    n.publish_at("UserUpdated", {**newest, "phone": "254700000889"}, occurred_at=now + timedelta(seconds=1),
                 source="auth")
    wait_for(lambda: (n.recipient(8) or {}).get("phone") == "254700000889", what="the later phone")


def test_booking_confirmed_carries_the_receipt_and_how_it_was_paid_whichever_event_comes_first(n):
    n.user(3)
    booking = {"booking_id": 31, "user_id": 3, "unit_id": 4, "start_date": "2031-01-05", "end_date": "2031-02-05",
               "total_price": 3500}
    paid = {"payment_id": 9, "booking_id": 31, "user_id": 3, "amount": 3500, "method": "mpesa",
            "receipt": "SBX1A2B3C4", "checkout_request_id": "ws_CO_1", "paid_at": n.later(0), "invoice_id": None}
    n.publish("PaymentSucceeded", paid, source="payments")
    n.publish("BookingConfirmed", booking, source="booking")
    # The other order, for another booking, paid by card (Pesapal's confirmation code).
    n.publish("BookingConfirmed", {**booking, "booking_id": 32}, source="booking")
    n.publish("PaymentSucceeded", {**paid, "booking_id": 32, "payment_id": 10, "receipt": "PSP9Z8Y7X6",
                                   "method": "card"}, source="payments")
    rows = n.wait_rows(4, template="booking_confirmed")
    sms = {r["body"] for r in rows if r["channel"] == "sms"}
    assert sms == {
        "Booking #31 confirmed: 5 Jan 2031 to 5 Feb 2031. Paid KES 3,500, M-PESA ref SBX1A2B3C4. Thank you, Wanjiku!",
        "Booking #32 confirmed: 5 Jan 2031 to 5 Feb 2031. Paid KES 3,500, Pesapal ref PSP9Z8Y7X6. Thank you, Wanjiku!",
    }
    n.wait_status("sent", "delivered", template="booking_confirmed", channel="email")


def test_messages_follow_the_users_language(n):
    n.user(4, phone="254700000004", language="sw")
    n.publish("PaymentFailed", {"payment_id": 1, "booking_id": 41, "user_id": 4, "amount": 4500, "method": "mpesa",
                                "result_code": 1, "reason": "The balance is insufficient for the transaction.",
                                "checkout_request_id": "ws_CO_2"}, source="payments")
    n.publish("BookingCancelled", {"booking_id": 41, "user_id": 4, "unit_id": 1, "start_date": "2031-03-01",
                                   "end_date": "2031-04-01", "reason": "expired"}, source="booking")
    failed = n.wait_rows(2, template="payment_failed")
    assert all(r["language"] == "sw" for r in failed)
    sms = next(r for r in failed if r["channel"] == "sms")
    assert sms["body"] == ("Malipo ya KES 4,500 kwa nafasi #41 hayakufaulu: salio lako la M-PESA halitoshi. "
                           "Kujaribu tena, fungua nafasi yako ubonyeze Lipa.")
    cancelled = n.wait_rows(2, template="booking_cancelled")
    assert next(r for r in cancelled if r["channel"] == "sms")["body"] == (
        "Nafasi #41 (1 Machi 2031) imeghairiwa: haikulipwa kwa wakati. "
        "Marejesho yoyote yanarudishwa kwa njia uliyolipia.")
    email = next(r for r in cancelled if r["channel"] == "email")
    assert email["subject"] == "Nafasi #41 imeghairiwa" and email["body"].startswith("Habari Wanjiku,")


def test_payment_failed_says_why_in_plain_words_and_how_to_retry(n):
    n.user(5, phone="254700000005")
    for code in (1032, 2001, 17):
        n.publish("PaymentFailed", {"payment_id": code, "booking_id": 51, "user_id": 5, "amount": 3500,
                                    "method": "mpesa", "result_code": code, "reason": "Daraja's words",
                                    "checkout_request_id": None}, source="payments")
    rows = n.wait_rows(3, template="payment_failed", channel="sms")
    for row, words in zip(rows, ("cancelled", "PIN was wrong", "did not complete it"), strict=True):
        assert words in row["body"] and "To retry, open your booking and tap Pay again." in row["body"]


def test_a_failed_card_payment_is_not_said_to_be_mpesas(n):
    n.user(7, phone="254700000007")
    for code in (2, 1032):  # Pesapal's FAILED; a card code that is also a Daraja one means nothing of M-PESA here
        n.publish("PaymentFailed", {"payment_id": 70 + code, "booking_id": 52, "user_id": 7, "amount": 3500,
                                    "method": "card", "result_code": code, "reason": "Pesapal's words",
                                    "checkout_request_id": None}, source="payments")
    rows = n.wait_rows(2, template="payment_failed", channel="sms")
    assert {r["body"] for r in rows} == {"Payment of KES 3,500 for booking #52 failed: the card payment was declined "
                                         "or not completed. To retry, open your booking and tap Pay again."}


def test_every_billing_refund_and_transport_event_has_its_message(start_notifications):
    n = start_notifications(support_phone="0711  222 333")  # SUPPORT_PHONE, its spaces tidied
    n.user(6, phone="254700000006", email="six@example.co.ke")
    n.publish("InvoiceIssued", invoice(6), source="billing")
    n.publish("InvoiceReminder", invoice(6, days_until_due=3), source="billing")
    n.publish("InvoiceOverdue", invoice(6, days_overdue=5, late_fee=500, balance=4000), source="billing")
    n.publish("RentPaymentApplied", applied(6, (7, "INV-2031-00007", 4000), method="card", receipt="SBX7Q"),
              source="billing")
    n.publish("AccessSuspended", {"booking_id": 70, "user_id": 6, "unit_id": 2, "balance": 4000}, source="billing")
    n.publish("AccessRestored", {"booking_id": 70, "user_id": 6, "unit_id": 2, "balance": 0}, source="billing")
    n.publish("RefundPaid", {"refund_id": 3, "booking_id": 70, "invoice_id": 7, "user_id": 6, "amount": 1200,
                             "method": "card", "receipt": "RFD9"}, source="payments")
    for status in ("requested", "scheduled", "in_progress", "completed"):
        n.publish("TransportStatusChanged", {"request_id": 12, "user_id": 6, "booking_id": 70, "status": status,
                                             "previous_status": None}, source="transport")
    expected = {
        "invoice_issued": "Invoice INV-2031-00007: KES 3,500 due 5 Jan 2031. Pay by M-PESA from your Jesh account. "
                          "Thank you, Wanjiku.",
        "payment_reminder": "Reminder: invoice INV-2031-00007, KES 3,500 due 5 Jan 2031 (in 3 days). Pay by M-PESA "
                            "to keep access to your unit.",
        "invoice_overdue": "Invoice INV-2031-00007 is 5 days overdue, with a late fee of KES 500: KES 4,000 now due. "
                           "Please pay by M-PESA today.",
        "payment_received": "Received KES 4,000 for invoice INV-2031-00007, Pesapal ref SBX7Q. Balance now KES 0. "
                            "Thank you, Wanjiku!",
        "access_suspended": "Access to your unit (booking #70) is suspended: KES 4,000 unpaid. Pay by M-PESA to "
                            "restore it at once. Help: 0711 222 333",
        "access_restored": "Thank you, Wanjiku. Access to your unit (booking #70) is restored.",
        "refund_paid": "Refund of KES 1,200 for booking #70 sent to the card or account you paid with, ref RFD9.",
        "transport_scheduled": "Your transport request #12 is scheduled. Our team will call you before the truck "
                               "comes.",
        "transport_completed": "Transport request #12 is complete: your goods have been delivered. Thank you, "
                               "Wanjiku!",
    }
    rows = n.wait_rows(2 * (len(expected) + 1), user_id=6)  # + welcome
    n.wait_status("sent", "delivered", user_id=6, channel="sms")
    by_template: dict[str, list[dict]] = {}
    for row in rows:
        by_template.setdefault(row["template"], []).append(row)
    assert set(by_template) == {"welcome", *expected}
    for template, body in expected.items():
        assert sorted(r["channel"] for r in by_template[template]) == ["email", "sms"], template
        assert next(r for r in by_template[template] if r["channel"] == "sms")["body"] == body
    texts = [m["message"] for m in n.sms.messages("254700000006")]
    assert sorted(texts) == sorted(r["body"] for r in rows if r["channel"] == "sms")
    n.wait_status("sent", "delivered", user_id=6, channel="email")
    mails = n.mail.mail("six@example.co.ke")
    subjects = sorted(m["Subject"] for m in mails)
    assert "Invoice INV-2031-00007 is overdue" in subjects and len(subjects) == len(expected) + 1
    # Every email signs off with the number to call.
    assert all(m.get_body(("plain",)).get_content().rstrip().endswith("Jesh Storage\nHelp: 0711 222 333")
               for m in mails)


def test_a_reminder_on_the_due_date_says_today_and_a_day_late_is_one_day(n):
    n.user(9, phone="254700000009")
    n.user(10, phone="254700000010", language="sw")
    for user_id, days in ((9, 0), (9, 1), (10, 0), (10, 1)):
        n.publish("InvoiceReminder", invoice(user_id, days_until_due=days), source="billing")
    n.publish("InvoiceOverdue", invoice(9, days_overdue=1, late_fee=500, balance=4000), source="billing")

    def sms(user_id: int, template: str) -> list[str]:
        rows = n.wait_rows(4 if template == "payment_reminder" else 2, user_id=user_id, template=template)
        return sorted(r["body"] for r in rows if r["channel"] == "sms")

    # Before: "(in 0 days)", "(in 1 days)", "(siku 0)", "is 1 days overdue".
    assert sms(9, "payment_reminder") == [
        "Reminder: invoice INV-2031-00007, KES 3,500 due 5 Jan 2031 (today). Pay by M-PESA to keep access to your "
        "unit.",
        "Reminder: invoice INV-2031-00007, KES 3,500 due 5 Jan 2031 (tomorrow). Pay by M-PESA to keep access to your "
        "unit."]
    assert sms(10, "payment_reminder") == [
        "Kumbusho: ankara INV-2031-00007, KES 3,500 ilipwe kufikia 5 Jan 2031 (kesho). Lipa kwa M-PESA ili uendelee "
        "kufikia stoo yako.",
        "Kumbusho: ankara INV-2031-00007, KES 3,500 ilipwe kufikia 5 Jan 2031 (leo). Lipa kwa M-PESA ili uendelee "
        "kufikia stoo yako."]
    assert sms(9, "invoice_overdue") == [
        "Invoice INV-2031-00007 is 1 day overdue, with a late fee of KES 500: KES 4,000 now due. Please pay by "
        "M-PESA today."]


def test_an_overdue_invoice_is_never_said_to_get_its_late_fee_again_nor_a_fee_of_nothing(n):
    n.user(12, phone="254700000012")
    n.user(13, phone="254700000013", language="sw")
    for user_id in (12, 13):  # the ladder's later steps (locked out) tell the fee charged at its first
        n.publish("InvoiceOverdue", invoice(user_id, days_overdue=10, late_fee=500, balance=4000), source="billing")
    n.publish("InvoiceOverdue", invoice(12, invoice_id=8, number="INV-2031-00008", days_overdue=5, late_fee=0),
              source="billing")  # BILLING_LATE_FEE_KES=0

    def sms(user_id: int, count: int) -> list[str]:
        rows = n.wait_rows(2 * count, user_id=user_id, template="invoice_overdue")
        return sorted(r["body"] for r in rows if r["channel"] == "sms")

    # Before: "Late fee KES 500 added" at every step, and "Late fee KES 0 added".
    assert sms(12, 2) == [
        "Invoice INV-2031-00007 is 10 days overdue, with a late fee of KES 500: KES 4,000 now due. Please pay by "
        "M-PESA today.",
        "Invoice INV-2031-00008 is 5 days overdue: KES 3,500 now due. Please pay by M-PESA today."]
    assert sms(13, 1) == [
        "Ankara INV-2031-00007 imechelewa siku 10, na ada ya kuchelewa KES 500; sasa unadaiwa KES 4,000. "
        "Tafadhali lipa kwa M-PESA leo."]


def test_an_invoice_partly_paid_ahead_asks_for_the_rest_and_one_paid_ahead_asks_for_nothing_but_its_receipt(n):
    n.user(11, phone="254700000011")
    n.publish("InvoiceIssued", invoice(11, invoice_id=8, number="INV-2031-00008", balance=1500), source="billing")
    n.publish("InvoiceIssued", invoice(11, invoice_id=9, number="INV-2031-00009", balance=0), source="billing")
    n.publish("InvoicePaid", invoice(11, invoice_id=9, number="INV-2031-00009", amount_paid=3500, balance=0,
                                     receipt=None, method=None), source="billing")
    received = n.wait_rows(2, user_id=11, template="payment_received")
    # The credit paid it: no ref to wait for (before: "payment ref to follow").
    assert [r["body"] for r in received if r["channel"] == "sms"] == [
        "Received KES 3,500 for invoice INV-2031-00009, from the money you paid ahead. Balance now KES 0. Thank you, "
        "Wanjiku!"]
    rows = n.wait_rows(2, user_id=11, template="invoice_issued")
    # Before: "KES 3,500 due" (the invoice's total, money paid ahead or not), and a second one for INV-2031-00009.
    assert [(r["subject"], r["body"]) for r in rows if r["channel"] == "sms"] == [
        (None, "Invoice INV-2031-00008: KES 1,500 due 5 Jan 2031. Pay by M-PESA from your Jesh account. Thank you, "
               "Wanjiku.")]
    assert [r["subject"] for r in rows if r["channel"] == "email"] == [
        "Invoice INV-2031-00008: KES 1,500 due 5 Jan 2031"]


def test_a_part_payment_gets_one_receipt_at_once_with_what_is_still_due_in_each_language(start_notifications):
    """A payment that pays part of an invoice (Paybill or cash: any amount) has its receipt, in the customer's
    language, at once (quiet hours now, SMS turned off: a receipt is no reminder), once whatever the redeliveries.
    Before: nothing at all (only an invoice paid in full had a message, InvoicePaid)."""
    now = datetime.now(NAIROBI)
    n = start_notifications(notify_quiet_hours=f"{(now - timedelta(hours=1)):%H:00}-{(now + timedelta(hours=2)):%H:00}")
    n.user(14, phone="254700000014")
    n.user(15, phone="254700000015", language="sw")
    r = n.client.put("/api/notifications/preferences", json={"sms": False}, headers=n.keys.headers(15))
    assert r.status_code == 200, r.text
    staged = [n.publish("RentPaymentApplied", applied(user_id, (7, "INV-000007", 1200), payment_id=40 + user_id,
                                                      method="cash", receipt="CASH-000042", balance=2300),
                        source="billing") for user_id in (14, 15)]
    n.wait_status("sent", "delivered", template="payment_received", channel="sms")
    assert [m["message"] for m in n.sms.messages("254700000014") if "CASH" in m["message"]] == [
        "Received KES 1,200 for invoice INV-000007, cash ref CASH-000042. Still due: KES 2,300. Thank you, Wanjiku!"]
    assert [m["message"] for m in n.sms.messages("254700000015") if "CASH" in m["message"]] == [
        "Tumepokea KES 1,200 kwa ankara INV-000007, kumbukumbu ya pesa taslimu CASH-000042. Bado unadaiwa KES 2,300. "
        "Asante, Wanjiku!"]
    rows = n.wait_rows(4, template="payment_received")
    emails = {r["user_id"]: r["subject"] for r in rows if r["channel"] == "email"}
    assert emails == {14: "Payment of KES 1,200 received", 15: "Tumepokea malipo ya KES 1,200"}

    # Both again, as redeliveries (same event ids, past JetStream's de-duplication), then one more event: nothing new.
    for env in staged:
        n.publish("RentPaymentApplied", env["data"], event_id=env["id"], source="billing", dedupe=False)
    last = n.publish("RentPaymentApplied", applied(14, (7, "INV-000007", 2300), payment_id=99, receipt="SBX99"),
                     source="billing")
    wait_for(lambda: _inbox_has(n, last["id"]), what="the last receipt handled")
    n.wait_status("sent", "delivered", template="payment_received", channel="sms")
    assert len(n.rows(template="payment_received")) == 6  # three payments, two channels each
    fourteen = sorted(m["message"] for m in n.sms.messages("254700000014") if m["message"].startswith("Received"))
    assert fourteen == [
        "Received KES 1,200 for invoice INV-000007, cash ref CASH-000042. Still due: KES 2,300. Thank you, Wanjiku!",
        "Received KES 2,300 for invoice INV-000007, M-PESA ref SBX99. Balance now KES 0. Thank you, Wanjiku!"]
    assert len([m for m in n.sms.messages("254700000015") if "CASH" in m["message"]]) == 1


def test_one_payment_over_two_invoices_gets_one_receipt_naming_both(n):
    """Billing spreads a payment over the open invoices, oldest first: the one it finished has its InvoicePaid (naming
    the payment), and the payment its RentPaymentApplied. Before: a receipt per invoice it finished, each for that
    invoice's whole amount, and none for the part of the next."""
    n.user(16, phone="254700000016")
    n.user(17, phone="254700000017", language="sw")
    for user_id in (16, 17):
        n.publish("InvoicePaid", invoice(user_id, amount_paid=3500, balance=0, receipt="SBX9", method="mpesa",
                                         payment_id=40), source="billing")
        n.publish("RentPaymentApplied", applied(user_id, (7, "INV-000007", 3500), (8, "INV-000008", 1500),
                                                balance=2000), source="billing")
    rows = n.wait_rows(4, template="payment_received")
    wait_for(lambda: _inbox_count(n) >= 6, what="every event handled")  # + the two UserRegistered
    assert len(n.rows(template="payment_received")) == 4  # one receipt per customer, by SMS and email
    assert sorted(r["body"] for r in rows if r["channel"] == "sms") == [
        "Received KES 5,000 for invoices INV-000007 and INV-000008, M-PESA ref SBX9. Still due: KES 2,000. Thank you, "
        "Wanjiku!",
        "Tumepokea KES 5,000 kwa ankara INV-000007 na INV-000008, kumbukumbu ya M-PESA SBX9. Bado unadaiwa KES 2,000. "
        "Asante, Wanjiku!"]


def test_a_payment_paid_ahead_or_to_an_ended_rental_says_where_the_money_is(n):
    n.user(18, phone="254700000018")
    n.publish("RentPaymentApplied", applied(18, (7, "INV-000007", 1800), amount=2000, credit=200), source="billing")
    n.publish("RentPaymentApplied", applied(18, payment_id=41, amount=800, receipt="SBX10", refund=800),
              source="billing")
    rows = n.wait_rows(4, template="payment_received")
    assert sorted(r["body"] for r in rows if r["channel"] == "sms") == [
        "Received KES 2,000 for invoice INV-000007, M-PESA ref SBX9. Paid ahead: KES 200. Thank you, Wanjiku!",
        "Received KES 800 for your rental, M-PESA ref SBX10. KES 800 will be refunded to you. Thank you, Wanjiku!"]


def test_an_invoice_the_credit_paid_still_says_so_and_one_a_payment_finished_leaves_it_to_that_payment(n):
    n.user(19, phone="254700000019")
    n.publish("InvoicePaid", invoice(19, number="INV-000007", amount_paid=3500, balance=0, receipt=None, method=None,
                                     payment_id=None), source="billing")
    n.publish("InvoicePaid", invoice(19, invoice_id=8, number="INV-000008", amount_paid=3500, balance=0,
                                     receipt="SBX11", method="mpesa", payment_id=41), source="billing")
    last = n.publish("AccessRestored", {"booking_id": 70, "user_id": 19, "unit_id": 2, "balance": 0}, source="billing")
    wait_for(lambda: _inbox_has(n, last["id"]), what="the events handled")
    rows = n.wait_rows(2, template="payment_received")
    assert [r["body"] for r in rows if r["channel"] == "sms"] == [
        "Received KES 3,500 for invoice INV-000007, from the money you paid ahead. Balance now KES 0. Thank you, "
        "Wanjiku!"]
    assert len(n.rows(template="payment_received")) == 2


def test_a_rentals_first_invoice_paid_with_the_booking_sends_no_second_receipt(n):
    """Invoice 1 of a monthly rental is paid by the booking's own payment: the booking's confirmation already says
    "Paid KES …"; a "Received KES … for invoice …" for the same money would be a second message for it."""
    n.user(9, phone="254700000009")
    first = invoice(9, invoice_id=8, number="INV-2031-00008", amount_paid=3500, balance=0, receipt="SBX1",
                    method="mpesa", with_booking=True)
    n.publish("InvoicePaid", first, source="billing")
    n.publish("InvoicePaid", invoice(9, amount_paid=3500, balance=0, receipt="SBX2", method="mpesa"), source="billing")
    [row] = n.wait_rows(1, template="payment_received", channel="sms")
    assert "INV-2031-00007" in row["body"]
    assert [r["body"] for r in n.rows(user_id=9) if "INV-2031-00008" in r["body"]] == []


def test_malformed_event_data_is_parked_not_half_applied(n):
    from sqlalchemy import text

    env = n.publish("InvoiceIssued", {"invoice_id": "not a number", "user_id": 1}, source="billing")

    def parked() -> bool:
        with n.db.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM dead_letter WHERE event_id = :id"),
                                {"id": env["id"]}).scalar_one() == 1

    wait_for(parked, what="the event parked")
    assert n.rows() == []


def test_the_hold_reminder_gives_the_end_of_the_hold_in_nairobi_time_and_none_for_a_hold_already_over(n):
    n.user(8, phone="254700000008")
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=120)
    booking = {"booking_id": 81, "user_id": 8, "unit_id": 1, "start_date": "2031-12-31", "end_date": "2032-01-31",
               "total_price": 12000, "hold_expires_at": ends.isoformat()}
    n.publish("BookingCreated", booking, source="booking")
    n.publish("BookingCreated", {**booking, "booking_id": 82, "hold_expires_at": "2020-01-01T10:30:00+00:00"},
              source="booking")
    reminder = n.wait_rows(1, template="hold_expiring", channel="sms")
    nairobi = (ends + timedelta(hours=3)).strftime("%H:%M")
    assert reminder[0]["body"] == (f"Wanjiku, booking #81 is held until {nairobi}. Pay KES 12,000 by M-PESA before "
                                   "then to keep the unit.")
    wait_for(lambda: _inbox_count(n) >= 3, what="the BookingCreated events handled")
    n.wait_status("sent", "delivered", template="hold_expiring")
    assert len(n.rows(template="hold_expiring")) == 2  # booking 81 by SMS and email; nothing for booking 82


def unmatched(**data: object) -> dict[str, object]:
    return {"unmatched_id": 1, "amount": 4000, "receipt": "TC24H7XK9Z", "account": "jesh 70", "reason": "wrong_amount",
            "booking_id": None, "invoice_id": None, "user_id": None, "price": None, "phone_number": None, **data}


def test_paybill_money_that_pays_nothing_is_told_to_whose_it_is(n):
    """PaymentUnmatched: the customer of the booking the account names, else the customer with the paying phone,
    hears at once that the money waits, and why; money from a phone nobody has is left to the operators."""
    n.user(7, phone="254700000007")
    n.user(8, phone="254700000008", language="sw")
    n.publish("PaymentUnmatched", unmatched(unmatched_id=1, booking_id=70, user_id=7, price=4500,
                                            phone_number="254799999999"), source="payments")
    n.publish("PaymentUnmatched", unmatched(unmatched_id=2, amount=700, receipt="TC24H7XK9Y", account="nothing at all",
                                            reason="unknown_account", phone_number="254700000008"), source="payments")
    n.publish("PaymentUnmatched", unmatched(unmatched_id=3, amount=900, receipt="TC24H7XK9W", account="x",
                                            reason="unknown_account", phone_number="254711111111"), source="payments")
    n.publish("PaymentUnmatched", unmatched(unmatched_id=4, amount=4500, receipt="TC24H7XK9V", account="JESH-70",
                                            reason="paid_already", booking_id=70, user_id=7), source="payments")
    wait_for(lambda: _inbox_count(n) >= 6, what="the four PaymentUnmatched handled")  # + the two UserRegistered
    n.wait_status("sent", "delivered", user_id=7, channel="sms")
    n.wait_status("sent", "delivered", user_id=8, channel="sms")
    seven = [m["message"] for m in n.sms.messages("254700000007")]
    assert sorted(seven)[1:] == [
        "We received KES 4,000 (ref TC24H7XK9Z) for booking #70, which costs KES 4,500: it is not paid. We will "
        "refund or apply it. Help: 0700 000 000",
        "We received KES 4,500 (ref TC24H7XK9V) for account JESH-70, but that booking is paid already. We will "
        "refund or apply it. Help: 0700 000 000",
    ]
    eight = [m["message"] for m in n.sms.messages("254700000008") if "TC24H7XK9Y" in m["message"]]
    assert eight == ["Tumepokea KES 700 (kumbukumbu TC24H7XK9Y) kwa akaunti nothing at a, lakini nambari hiyo "
                     "haijulikani. Tutairudisha au kuitumia. Msaada: 0700 000 000"]
    assert not n.sms.messages("254711111111") and not n.sms.messages("254799999999")
    assert len(n.rows(template="payment_wrong_amount")) == 2 and len(n.rows(template="payment_unmatched")) == 4
