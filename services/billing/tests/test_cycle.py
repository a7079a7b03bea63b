"""The billing cycle with the test clock: invoice 2 on its lead day, reminders, payment; the unpaid ladder."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from billing import daily
from billing.rules import Rules, anniversary
from jeshkit.clock import NAIROBI, nairobi_today
from jeshstack.testing import wait_for


def test_a_rental_paid_at_booking_gets_invoice_two_on_its_lead_day_reminders_and_is_current_once_paid(
    start_billing,
):
    billing = start_billing()
    start = nairobi_today() + timedelta(days=1)
    account = billing.confirm_rental(11, start, rate=4500)

    [first] = billing.invoices(11)
    assert (first["status"], first["total"], first["amount_paid"], first["balance"]) == ("paid", 4500, 4500, 0)
    assert (first["period_start"], first["due_date"]) == (start.isoformat(), start.isoformat())
    assert first["period_end"] == (anniversary(start, 1, start.day) - timedelta(days=1)).isoformat()
    assert first["lines"] == [{"kind": "rent", "description": first["lines"][0]["description"], "amount": 4500}]
    assert first["payments"][0]["receipt"].startswith("RCP") and first["number"].startswith("INV-")
    assert len(first["number"]) == len("INV-000123")
    assert (account["delinquency_stage"], account["access"], account["balance"]) == ("current", "active", 0)
    assert len(account["gate_code"]) == 6 and account["gate_code"].isdigit()
    assert account["paid_through"] == first["period_end"]
    second_start = anniversary(start, 1, start.day)
    lead_day = second_start - timedelta(days=7)
    assert account["next_invoice_date"] == lead_day.isoformat()

    billing.advance(11, lead_day - timedelta(days=1))
    assert len(billing.invoices(11)) == 1
    account = billing.advance(11, lead_day)
    first, second = billing.invoices(11)
    assert (second["issue_date"], second["due_date"], second["status"]) == (
        lead_day.isoformat(), second_start.isoformat(), "open")
    assert second["total"] == second["balance"] == 4500 and second["number"] != first["number"]
    assert account["balance"] == 4500 and account["delinquency_stage"] == "current"
    [issued] = billing.events("InvoiceIssued", booking_id=11)
    assert issued["invoice_id"] == second["id"] and issued["due_date"] == second_start.isoformat()

    billing.advance(11, second_start)
    reminders = billing.events("InvoiceReminder", invoice_id=second["id"])
    assert [r["days_until_due"] for r in reminders] == [3, 0]

    billing.pay(11, 4500, invoice_id=second["id"])
    paid = wait_for(lambda: (i := billing.invoices(11)[1])["status"] == "paid" and i, what="invoice 2 paid")
    assert paid["balance"] == 0 and paid["payments"][0]["amount"] == 4500
    account = billing.account(11)
    assert (account["balance"], account["delinquency_stage"], account["access"]) == (0, "current", "active")
    paid_events = billing.events("InvoicePaid", booking_id=11)
    assert [e["invoice_id"] for e in paid_events] == [first["id"], second["id"]]
    # Invoice 1 was paid by the booking's own payment (its confirmation speaks of that money), invoice 2 by its own.
    assert [e["with_booking"] for e in paid_events] == [True, False]
    # Running the same days again changes nothing.
    billing.advance(11, second_start)
    assert len(billing.invoices(11)) == 2 and len(billing.events("InvoiceReminder", booking_id=11)) == 2


def test_an_unpaid_rental_gets_one_late_fee_then_is_locked_out_then_lien_and_paying_restores_access_at_once(
    start_billing,
):
    billing = start_billing(billing_late_fee_kes=700)
    start = nairobi_today()
    billing.confirm_rental(12, start, rate=3000)
    due = anniversary(start, 1, start.day)

    account = billing.advance(12, due + timedelta(days=4))
    assert account["delinquency_stage"] == "current" and billing.events("LateFeeCharged") == []
    account = billing.advance(12, due + timedelta(days=5))
    invoice = billing.invoices(12)[1]
    assert [line["kind"] for line in invoice["lines"]] == ["rent", "late_fee"]
    assert (invoice["total"], invoice["balance"], invoice["days_overdue"]) == (3700, 3700, 5)
    assert (account["delinquency_stage"], account["access"], account["balance"]) == ("late", "active", 3700)
    [fee] = billing.events("LateFeeCharged", booking_id=12)
    assert fee["amount"] == 700 and fee["invoice_id"] == invoice["id"]

    account = billing.advance(12, due + timedelta(days=9))
    assert account["access"] == "active"
    account = billing.advance(12, due + timedelta(days=10))
    assert (account["delinquency_stage"], account["access"]) == ("locked_out", "suspended")
    [suspended] = billing.events("AccessSuspended", booking_id=12)
    assert suspended == {"booking_id": 12, "user_id": 5, "unit_id": 1, "balance": 3700}

    account = billing.advance(12, due + timedelta(days=45))
    assert (account["delinquency_stage"], account["access"]) == ("lien", "suspended")
    assert len(billing.events("LateFeeCharged", booking_id=12)) == 2  # invoice 3 is late too by now, once each
    fees = [len([ln for ln in i["lines"] if ln["kind"] == "late_fee"]) for i in billing.invoices(12)]
    assert fees == [0, 1, 1]
    # Invoice 2 at each step of the ladder; invoice 3 once, when its own fee was charged (before: never, and its
    # customer was not told of that fee).
    third = billing.invoices(12)[2]
    stages = [(e["invoice_id"], e["days_overdue"], e["late_fee"])
              for e in billing.events("InvoiceOverdue", booking_id=12)]
    assert stages == [(invoice["id"], 5, 700), (invoice["id"], 10, 700), (third["id"], 5, 700),
                      (invoice["id"], 45, 700)]
    assert len(billing.events("AccessSuspended", booking_id=12)) == 1

    # Paying the whole balance at once: current and active right away (no day has to pass).
    owed = account["balance"]
    assert owed == sum(i["balance"] for i in billing.invoices(12))
    billing.pay(12, owed, invoice_id=billing.invoices(12)[-1]["id"])
    account = wait_for(lambda: (a := billing.account(12))["balance"] == 0 and a, what="all paid")
    assert (account["delinquency_stage"], account["access"]) == ("current", "active")
    [restored] = billing.events("AccessRestored", booking_id=12)
    assert restored["balance"] == 0
    assert all(i["status"] == "paid" for i in billing.invoices(12))


def test_with_no_grace_days_an_invoice_is_late_on_its_due_date_and_a_paid_rental_stays_current(start_billing):
    # BILLING_GRACE_DAYS=0 (before: the service refused to start, 'greater than or equal to 1').
    billing = start_billing(billing_grace_days=0, billing_lockout_days=3, billing_late_fee_kes=300)
    start = nairobi_today()
    billing.confirm_rental(20, start, rate=2000)
    due = anniversary(start, 1, start.day)
    account = billing.advance(20, due - timedelta(days=1))
    assert (account["delinquency_stage"], account["balance"]) == ("current", 2000)  # issued, not due yet
    account = billing.advance(20, due)
    assert (account["delinquency_stage"], account["access"], account["balance"]) == ("late", "active", 2300)
    assert [(e["days_overdue"], e["late_fee"]) for e in billing.events("InvoiceOverdue", booking_id=20)] == [(0, 300)]
    second = billing.invoices(20)[1]
    billing.pay(20, 2300, invoice_id=second["id"])
    wait_for(lambda: billing.account(20)["balance"] == 0, what="paid")
    # Nothing open: current, day after day (nothing past due is not 0 days past due).
    account = billing.advance(20, due + timedelta(days=5))
    assert (account["delinquency_stage"], account["access"]) == ("current", "active")
    assert len(billing.events("InvoiceOverdue", booking_id=20)) == 1


def test_payments_go_to_the_oldest_open_invoice_first(start_billing):
    billing = start_billing(billing_late_fee_kes=0)
    start = nairobi_today()
    billing.confirm_rental(13, start, rate=2000)
    billing.advance(13, anniversary(start, 2, start.day))
    _, second, third = billing.invoices(13)
    billing.pay(13, 2500, invoice_id=third["id"])  # names the newest: the oldest is paid first anyway
    wait_for(lambda: billing.invoices(13)[1]["status"] == "paid", what="oldest paid")
    _, second, third = billing.invoices(13)
    assert (second["status"], third["status"], third["amount_paid"], third["balance"]) == ("paid", "open", 500, 1500)


def test_a_part_payment_stages_its_receipt_with_what_it_paid_and_what_is_still_due(start_billing):
    """Every payment billing applies to a rental stages RentPaymentApplied, the customer's receipt of it. Before,
    only an invoice paid in full had an event (InvoicePaid): a part payment was told to nobody, and the payment that
    finished the invoice was receipted for the whole of it."""
    billing = start_billing()
    start = nairobi_today()
    billing.confirm_rental(32, start, rate=3000)
    billing.advance(32, anniversary(start, 1, start.day) - timedelta(days=7))  # invoice 2 issued
    second = billing.invoices(32)[1]
    part = billing.pay(32, 1200, invoice_id=second["id"], method="cash")
    assert billing.events("RentPaymentApplied", booking_id=32) == [{
        "payment_id": part, "booking_id": 32, "user_id": 5, "amount": 1200, "method": "cash", "receipt": f"RCP{part}",
        "invoices": [{"invoice_id": second["id"], "number": second["number"], "amount": 1200}],
        "balance": 1800, "credit": 0, "refund": 0}]
    assert billing.events("InvoicePaid", invoice_id=second["id"]) == []

    rest = billing.pay(32, 2000, invoice_id=second["id"])  # the 1800 left, and 200 ahead
    assert billing.events("RentPaymentApplied", payment_id=rest) == [{
        "payment_id": rest, "booking_id": 32, "user_id": 5, "amount": 2000, "method": "mpesa", "receipt": f"RCP{rest}",
        "invoices": [{"invoice_id": second["id"], "number": second["number"], "amount": 1800}],
        "balance": 0, "credit": 200, "refund": 0}]
    # The invoice's InvoicePaid names the payment that finished it: that payment's receipt is its RentPaymentApplied.
    [paid] = billing.events("InvoicePaid", invoice_id=second["id"])
    assert (paid["amount_paid"], paid["receipt"], paid["payment_id"], paid["with_booking"]) == (
        3000, f"RCP{rest}", rest, False)
    assert len(billing.events("RentPaymentApplied", booking_id=32)) == 2


def test_one_payment_over_two_invoices_stages_one_receipt_naming_both(start_billing):
    billing = start_billing(billing_late_fee_kes=0)
    start = nairobi_today()
    billing.confirm_rental(33, start, rate=2000)
    billing.advance(33, anniversary(start, 2, start.day))
    _, second, third = billing.invoices(33)
    payment = billing.pay(33, 2500, invoice_id=third["id"])
    [applied] = billing.events("RentPaymentApplied", booking_id=33)
    assert applied == {
        "payment_id": payment, "booking_id": 33, "user_id": 5, "amount": 2500, "method": "mpesa",
        "receipt": f"RCP{payment}",
        "invoices": [{"invoice_id": second["id"], "number": second["number"], "amount": 2000},
                     {"invoice_id": third["id"], "number": third["number"], "amount": 500}],
        "balance": 1500, "credit": 0, "refund": 0}
    # Invoice 1 paid with the booking; invoice 2 finished by this payment; invoice 3 still open.
    assert [(e["invoice_id"], e["payment_id"]) for e in billing.events("InvoicePaid", booking_id=33)
            if not e["with_booking"]] == [(second["id"], payment)]


def test_an_invoice_issued_to_a_rental_with_credit_asks_only_for_what_the_credit_leaves(start_billing):
    billing = start_billing(billing_late_fee_kes=0)
    start = nairobi_today()
    billing.confirm_rental(19, start, rate=2000)
    second_start = anniversary(start, 1, start.day)
    billing.advance(19, second_start - timedelta(days=7))
    second = billing.invoices(19)[1]
    billing.pay(19, 2000 + 2500, invoice_id=second["id"])  # invoice 2, and 2500 ahead
    wait_for(lambda: billing.account(19)["credit"] == 2500, what="2500 of credit")
    billing.advance(19, anniversary(start, 3, start.day) - timedelta(days=7))  # invoices 3 and 4 issued
    _, _, third, fourth = billing.invoices(19)
    assert (third["status"], fourth["status"], fourth["balance"]) == ("paid", "open", 1500)
    # Invoice 3 had nothing left to pay, invoice 4 1500: the event said 2000 of each (notifications asked
    # the customer to pay money they had paid ahead).
    issued = {e["invoice_id"]: (e["total"], e["balance"]) for e in billing.events("InvoiceIssued", booking_id=19)}
    assert (issued[third["id"]], issued[fourth["id"]]) == ((2000, 0), (2000, 1500))
    assert billing.events("InvoiceIssued", booking_id=19)[0]["balance"] == 2000  # invoice 2: no credit then


def test_autopay_asks_payments_on_the_due_date_and_once_more_after_the_retry_days(start_billing):
    billing = start_billing(billing_autopay_retry_days=2)
    start = nairobi_today()
    billing.confirm_rental(14, start, rate=3500, user_id=8)
    refused = billing.client.put("/api/billing/rentals/14/autopay", json={"enabled": True},
                                 headers=billing.owner(8))
    assert refused.status_code == 400  # no phone given and none known for the user
    assert billing.client.put("/api/billing/rentals/14/autopay", json={"enabled": True, "phone_number": "0712345678"},
                              headers=billing.owner(9)).status_code == 403
    r = billing.client.put("/api/billing/rentals/14/autopay", json={"enabled": True, "phone_number": "0712345678"},
                           headers=billing.owner(8))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["autopay"] == {"enabled": True, "phone_number": "254712345678"}

    due = anniversary(start, 1, start.day)
    billing.advance(14, due - timedelta(days=1))
    assert billing.events("AutopayRequested") == []
    billing.advance(14, due + timedelta(days=3))
    invoice = billing.invoices(14)[1]
    requests = billing.events("AutopayRequested", booking_id=14)
    assert requests == [
        {"invoice_id": invoice["id"], "booking_id": 14, "user_id": 8, "amount": 3500, "phone_number": "254712345678",
         "attempt": 1},
        {"invoice_id": invoice["id"], "booking_id": 14, "user_id": 8, "amount": 3500, "phone_number": "254712345678",
         "attempt": 2},
    ]
    # Paid after the first push: no second one for the next invoice's retry day.
    billing.advance(14, anniversary(start, 2, start.day))
    next_invoice = billing.invoices(14)[2]
    billing.pay(14, billing.account(14)["balance"], invoice_id=next_invoice["id"], user_id=8)
    wait_for(lambda: billing.account(14)["balance"] == 0, what="paid")
    billing.advance(14, anniversary(start, 2, start.day) + timedelta(days=5))
    assert [e["attempt"] for e in billing.events("AutopayRequested", booking_id=14)] == [1, 2, 1]

    off = billing.client.put("/api/billing/rentals/14/autopay", json={"enabled": False}, headers=billing.owner(8))
    assert off.status_code == 200 and off.json()["data"]["autopay"]["enabled"] is False


def test_an_autopay_retry_on_the_late_fees_day_asks_for_the_fee_too(start_billing):
    billing = start_billing(billing_autopay_retry_days=5, billing_grace_days=5, billing_late_fee_kes=500)
    start = nairobi_today()
    billing.confirm_rental(18, start, rate=3500, user_id=8)
    r = billing.client.put("/api/billing/rentals/18/autopay", json={"enabled": True, "phone_number": "0712345678"},
                           headers=billing.owner(8))
    assert r.status_code == 200, r.text
    due = anniversary(start, 1, start.day)
    billing.advance(18, due + timedelta(days=5))
    invoice = billing.invoices(18)[1]
    assert (invoice["total"], invoice["balance"]) == (4000, 4000)
    # The second push charges what is owed that day, the fee with it (before: 3500, leaving the rental late).
    assert [(e["attempt"], e["amount"]) for e in billing.events("AutopayRequested", booking_id=18)] == [
        (1, 3500), (2, 4000)]


def test_autopay_asks_once_a_day_for_all_the_rental_owes(start_billing):
    """A payment goes to the oldest open invoice first: the push for the new invoice's balance alone paid the old
    one, and left the new invoice open, late, with its fee, though the customer paid all autopay asked."""
    billing = start_billing(billing_grace_days=5, billing_late_fee_kes=500)
    start = nairobi_today()
    billing.confirm_rental(22, start, rate=3000, user_id=8)
    second_due = anniversary(start, 1, start.day)
    billing.advance(22, second_due + timedelta(days=6))  # invoice 2 unpaid: 3500 with its fee
    r = billing.client.put("/api/billing/rentals/22/autopay", json={"enabled": True, "phone_number": "0712345678"},
                           headers=billing.owner(8))
    assert r.status_code == 200, r.text
    third_due = anniversary(start, 2, start.day)
    billing.advance(22, third_due)
    second, third = billing.invoices(22)[1:3]
    [push] = billing.events("AutopayRequested", booking_id=22)
    assert (push["invoice_id"], push["amount"], push["attempt"]) == (second["id"], 3500 + 3000, 1)
    assert second["balance"] + third["balance"] == push["amount"] == billing.account(22)["balance"]


def test_the_daily_job_catching_up_sends_no_reminder_of_a_day_gone_by_and_one_autopay_push(start_billing):
    """After an outage the job bills the missed days one by one: every reminder of those days went out at once
    (due in 3 days, due today, for an invoice already late), and both autopay pushes."""
    billing = start_billing(billing_autopay_retry_days=2, billing_grace_days=5, billing_late_fee_kes=500)
    start = nairobi_today()
    billing.confirm_rental(23, start, rate=3000, user_id=8)
    r = billing.client.put("/api/billing/rentals/23/autopay", json={"enabled": True, "phone_number": "0712345678"},
                           headers=billing.owner(8))
    assert r.status_code == 200, r.text
    due = anniversary(start, 1, start.day)
    later = datetime.combine(due + timedelta(days=6), time(9, 0), NAIROBI).astimezone(UTC)  # the job back then
    rules = Rules(grace_days=5, late_fee=500, autopay_retry_days=2)
    daily.run_daily_job(session_factory=billing.sessions(), rules=rules, run_hour=6, batch_size=10, now=lambda: later)
    assert billing.account(23)["as_of"] == (due + timedelta(days=6)).isoformat()
    second = billing.invoices(23)[1]
    assert (second["total"], second["status"]) == (3500, "open")  # the fee, the stages: every day was billed
    assert billing.events("InvoiceIssued", booking_id=23) != []
    assert billing.events("InvoiceReminder", booking_id=23) == []  # both reminders' days are gone
    [push] = billing.events("AutopayRequested", booking_id=23)
    assert (push["attempt"], push["amount"]) == (2, 3500)  # the retry day was among them: one push, for all owed


def test_a_rental_starting_on_the_31st_is_billed_on_the_last_day_of_shorter_months(start_billing):
    billing = start_billing()
    billing.confirm_rental(15, date(2027, 1, 31), rate=1000)
    billing.confirm_rental(16, date(2028, 1, 31), rate=1000)
    billing.advance(15, date(2027, 5, 24))  # May 31 minus the 7 lead days
    billing.advance(16, date(2028, 3, 31))
    assert [i["period_start"] for i in billing.invoices(15)] == ["2027-01-31", "2027-02-28", "2027-03-31",
                                                                "2027-04-30", "2027-05-31"]
    assert [i["period_end"] for i in billing.invoices(15)][:2] == ["2027-02-27", "2027-03-30"]
    assert [i["period_start"] for i in billing.invoices(16)][:3] == ["2028-01-31", "2028-02-29", "2028-03-31"]
    assert billing.account(16)["billing_day"] == 31


def test_a_paybill_account_names_the_invoice_its_money_goes_to(start_billing):
    billing = start_billing(billing_late_fee_kes=0)
    start = nairobi_today()
    billing.confirm_rental(17, start, rate=2000)  # invoice 1 paid at booking
    billing.advance(17, anniversary(start, 2, start.day))
    first, second, third = billing.invoices(17)

    def account(number: str) -> dict:
        response = billing.client.get(f"/internal/invoices/paybill/{number}")
        assert response.status_code == 200, response.text
        return response.json()["data"]

    assert account(third["number"])["id"] == third["id"]  # an invoice number: that invoice
    assert account("JESH-17") == {"id": second["id"], "number": second["number"], "booking_id": 17,
                                  "user_id": 5, "total": 2000, "balance": 2000, "status": "open"}  # oldest open
    billing.pay(17, 4000, invoice_id=third["id"])
    wait_for(lambda: billing.invoices(17)[2]["status"] == "paid", what="all paid")
    assert account("JESH-17")["id"] == third["id"]  # nothing open: the latest (the money becomes credit)
    for unknown in ("JESH-999", "INV-999999", "JESH-x", "BOOKING-17", first["number"].lower()):
        missing = billing.client.get(f"/internal/invoices/paybill/{unknown}")
        assert missing.status_code == 404 and missing.json()["success"] is False, unknown
    assert billing.client.get("/internal/invoices/paybill/" + "J" * 21).status_code == 404  # too long for one


def test_a_late_fee_line_says_its_days_in_good_english() -> None:
    assert [daily.late_fee_text(n) for n in (0, 1, 5)] == [
        "Late fee", "Late fee (1 day past due)", "Late fee (5 days past due)"]
