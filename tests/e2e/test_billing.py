"""Monthly rentals and billing through the real gateway, with each rental's test clock.

Invoice payments (POST /api/invoices/<id>/pay, autopay's STK Push) are served by payments, with the Daraja simulator.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from billing.rules import anniversary
from jeshkit.clock import nairobi_today
from jeshstack.testing import wait_for
from tests.e2e.api import Api

pytestmark = pytest.mark.e2e

PAYS = "0712345678"  # the simulator's default outcome: success
LEAD, REMIND, GRACE, LOCKOUT, LIEN, RETRY = 7, 3, 5, 10, 45, 2  # the documented defaults
LATE_FEE = 500



def rent(customer: Api, unit: dict[str, Any], start: date) -> dict[str, Any]:
    """Book the unit monthly from `start`, pay the first month by M-PESA; the confirmed booking."""
    r = customer.post("/api/bookings", {"unit_id": unit["id"], "start_date": start.isoformat(), "plan": "monthly"})
    assert r.status_code == 201, r.text
    booking = r.json()["data"]
    assert (booking["plan"], booking["end_date"]) == ("monthly", None)
    assert booking["monthly_rate"] == booking["total_price"] == unit["monthly_price"]
    assert customer.pay(booking["id"], PAYS).status_code == 200
    return customer.wait_booking(booking["id"], status="confirmed", payment_status="success")


def account(api: Api, booking_id: int) -> dict[str, Any]:
    r = api.get(f"/api/billing/rentals/{booking_id}")
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def wait_rental(api: Api, booking_id: int) -> dict[str, Any]:
    """The rental account once billing has recorded invoice 1 (it follows the booking's events)."""
    def ready() -> dict[str, Any] | None:
        r = api.get(f"/api/billing/rentals/{booking_id}")
        if r.status_code != 200 or not invoices(api, booking_id):
            return None
        return dict(r.json()["data"])

    return wait_for(ready, timeout=20, what=f"rental {booking_id} with invoice 1")


def invoices(api: Api, booking_id: int) -> list[dict[str, Any]]:
    r = api.get("/api/invoices", params={"booking_id": booking_id})
    assert r.status_code == 200, r.text
    return sorted(r.json()["data"], key=lambda i: i["period_start"])


def advance(admin: Api, booking_id: int, to: date) -> dict[str, Any]:
    r = admin.post(f"/api/billing/rentals/{booking_id}/advance", {"to": to.isoformat()})
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def billing_events(stack: Any, event_type: str, booking_id: int) -> list[dict[str, Any]]:
    """What billing published for one rental (its outbox: every row is sent to JetStream as is)."""
    engine = create_engine(stack.database_urls["billing"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT payload FROM outbox WHERE type = :t ORDER BY created_at, id"),
                                {"t": event_type}).scalars().all()
    finally:
        engine.dispose()
    return [p["data"] for p in rows if p["data"].get("booking_id") == booking_id]


def pay_invoice(customer: Api, invoice_id: int) -> None:
    r = customer.post(f"/api/invoices/{invoice_id}/pay", {"phone_number": PAYS})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["CheckoutRequestID"]


def test_invoice_two_is_issued_on_its_lead_day_reminded_and_paid_by_mpesa(
    customer: Api, admin: Api, new_unit: Any, jesh_stack: Any
) -> None:
    unit = new_unit(monthly_price=4500)
    start = nairobi_today() + timedelta(days=1)
    booking = rent(customer, unit, start)
    rental = wait_rental(customer, booking["id"])
    [first] = invoices(customer, booking["id"])
    assert (first["status"], first["amount_paid"], first["balance"]) == ("paid", 4500, 0)
    assert first["payments"][0]["receipt"] and first["payments"][0]["method"] == "mpesa"
    assert (rental["delinquency_stage"], rental["access"], rental["balance"]) == ("current", "active", 0)
    assert len(rental["gate_code"]) == 6

    due = anniversary(start, 1, start.day)
    advance(admin, booking["id"], due - timedelta(days=LEAD + 1))
    assert len(invoices(customer, booking["id"])) == 1
    advance(admin, booking["id"], due - timedelta(days=LEAD))
    second = invoices(customer, booking["id"])[1]
    assert (second["issue_date"], second["due_date"], second["balance"]) == (
        (due - timedelta(days=LEAD)).isoformat(), due.isoformat(), 4500)
    advance(admin, booking["id"], due)
    reminders = billing_events(jesh_stack, "InvoiceReminder", booking["id"])
    assert [r["days_until_due"] for r in reminders] == [REMIND, 0]

    pay_invoice(customer, second["id"])
    paid = wait_for(lambda: (i := customer.get(f"/api/invoices/{second['id']}").json()["data"])["status"] == "paid"
                    and i, timeout=20, what="invoice 2 paid")
    assert paid["balance"] == 0 and paid["payments"][0]["receipt"]
    rental = account(customer, booking["id"])
    assert (rental["delinquency_stage"], rental["access"], rental["balance"]) == ("current", "active", 0)
    # The customer is told of each payment once: the first month by the booking's confirmation ("Paid KES …"), not
    # again as invoice 1's receipt; invoice 2's payment by its own receipt, RentPaymentApplied (it comes after invoice
    # 1's InvoicePaid: a barrier), not by invoice 2's InvoicePaid, which names that payment.
    assert [e["with_booking"] for e in billing_events(jesh_stack, "InvoicePaid", booking["id"])] == [True, False]
    [applied] = billing_events(jesh_stack, "RentPaymentApplied", booking["id"])
    assert ([(i["invoice_id"], i["amount"]) for i in applied["invoices"]], applied["balance"], applied["credit"]) == (
        [(second["id"], 4500)], 0, 0)
    receipts = wait_for(lambda: rows if len(rows := customer.get("/api/notifications", params={
        "template": "payment_received"}).json()["data"]) >= 2 else None, timeout=20, what="invoice 2's receipt")
    assert sorted(r["channel"] for r in receipts) == ["email", "sms"]
    assert all(second["number"] in r["body"] and first["number"] not in r["body"] for r in receipts)
    confirmed = customer.get("/api/notifications", params={"template": "booking_confirmed"}).json()["data"]
    assert [r["channel"] for r in confirmed if r["channel"] == "sms"] == ["sms"]


def test_unpaid_rent_gets_one_late_fee_then_lock_out_then_lien(customer: Api, admin: Api, new_unit: Any,
                                                              jesh_stack: Any) -> None:
    unit = new_unit(monthly_price=3000)
    start = nairobi_today() + timedelta(days=1)
    booking = rent(customer, unit, start)
    wait_rental(customer, booking["id"])
    due = anniversary(start, 1, start.day)

    rental = advance(admin, booking["id"], due + timedelta(days=GRACE - 1))
    assert rental["delinquency_stage"] == "current"
    rental = advance(admin, booking["id"], due + timedelta(days=GRACE))
    assert (rental["delinquency_stage"], rental["access"], rental["balance"]) == ("late", "active", 3000 + LATE_FEE)
    rental = advance(admin, booking["id"], due + timedelta(days=LOCKOUT))
    assert (rental["delinquency_stage"], rental["access"]) == ("locked_out", "suspended")
    rental = advance(admin, booking["id"], due + timedelta(days=LIEN))
    assert (rental["delinquency_stage"], rental["access"]) == ("lien", "suspended")
    second = invoices(customer, booking["id"])[1]
    assert [line["kind"] for line in second["lines"]] == ["rent", "late_fee"]  # once, however long unpaid
    assert second["days_overdue"] == LIEN
    assert len(billing_events(jesh_stack, "AccessSuspended", booking["id"])) == 1
    overdue = admin.get("/api/invoices", params={"overdue": "true", "booking_id": booking["id"]}).json()["data"]
    assert {i["id"] for i in overdue} == {i["id"] for i in invoices(customer, booking["id"]) if i["status"] == "open"}
    back = admin.post(f"/api/billing/rentals/{booking['id']}/advance", {"to": due.isoformat()})
    assert back.status_code == 409
    assert customer.post(f"/api/billing/rentals/{booking['id']}/advance",
                         {"to": (due + timedelta(days=LIEN + 1)).isoformat()}).status_code == 403


def test_paying_everything_restores_access_at_once(customer: Api, admin: Api, new_unit: Any, jesh_stack: Any) -> None:
    unit = new_unit(monthly_price=2500)
    start = nairobi_today() + timedelta(days=1)
    booking = rent(customer, unit, start)
    wait_rental(customer, booking["id"])
    due = anniversary(start, 1, start.day)
    rental = advance(admin, booking["id"], due + timedelta(days=LOCKOUT))
    assert rental["access"] == "suspended"
    for invoice in invoices(customer, booking["id"]):
        if invoice["status"] == "open":
            pay_invoice(customer, invoice["id"])
            wait_for(lambda i=invoice: customer.get(f"/api/invoices/{i['id']}").json()["data"]["status"] == "paid",
                     timeout=20, what=f"invoice {invoice['id']} paid")
    rental = account(customer, booking["id"])  # no day passes: the payment itself restores access
    assert (rental["balance"], rental["delinquency_stage"], rental["access"]) == (0, "current", "active")
    assert rental["as_of"] == (due + timedelta(days=LOCKOUT)).isoformat()
    assert len(billing_events(jesh_stack, "AccessRestored", booking["id"])) == 1


def test_autopay_pushes_on_the_due_date_and_pays(customer: Api, admin: Api, new_unit: Any, jesh_stack: Any) -> None:
    unit = new_unit(monthly_price=3500)
    start = nairobi_today() + timedelta(days=1)
    booking = rent(customer, unit, start)
    wait_rental(customer, booking["id"])
    r = customer.put(f"/api/billing/rentals/{booking['id']}/autopay", {"enabled": True, "phone_number": PAYS})
    assert r.status_code == 200 and r.json()["data"]["autopay"] == {"enabled": True, "phone_number": "254712345678"}
    due = anniversary(start, 1, start.day)
    advance(admin, booking["id"], due)
    second = invoices(customer, booking["id"])[1]
    [request] = billing_events(jesh_stack, "AutopayRequested", booking["id"])
    assert (request["invoice_id"], request["amount"], request["attempt"]) == (second["id"], 3500, 1)
    wait_for(lambda: customer.get(f"/api/invoices/{second['id']}").json()["data"]["status"] == "paid",
             timeout=30, what="the autopay push to pay invoice 2")
    advance(admin, booking["id"], due + timedelta(days=RETRY + 1))
    assert len(billing_events(jesh_stack, "AutopayRequested", booking["id"])) == 1  # paid: no retry


def test_a_rental_starting_on_the_31st_is_billed_on_the_last_day_of_february(customer: Api, admin: Api,
                                                                           new_unit: Any) -> None:
    today = nairobi_today()
    for year in (today.year + 1, 2028):  # 2028 is a leap year
        start = date(year, 1, 31)
        booking = rent(customer, new_unit(monthly_price=1000), start)
        wait_rental(customer, booking["id"])
        february = date(year, 2, 29 if year % 4 == 0 else 28)
        advance(admin, booking["id"], date(year, 3, 31) - timedelta(days=LEAD))
        starts = [i["period_start"] for i in invoices(customer, booking["id"])]
        assert starts == [start.isoformat(), february.isoformat(), f"{year}-03-31"]
        assert account(customer, booking["id"])["billing_day"] == 31


def test_move_out_stops_billing_and_frees_the_unit(customer: Api, admin: Api, new_unit: Any) -> None:
    unit = new_unit(monthly_price=2000)
    start = nairobi_today() + timedelta(days=1)
    booking = rent(customer, unit, start)
    wait_rental(customer, booking["id"])
    second, third = anniversary(start, 1, start.day), anniversary(start, 2, start.day)
    move_out = third  # the second period is the last one
    r = customer.post(f"/api/bookings/{booking['id']}/move-out", {"move_out_date": move_out.isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["end_date"] == move_out.isoformat()
    wait_for(lambda: account(customer, booking["id"])["end_date"] == move_out.isoformat(), timeout=20,
             what="billing to hear of the move-out")
    wait_for(lambda: customer.get(f"/api/units/{unit['id']}/availability").json()["data"]
             == [{"start_date": start.isoformat(), "end_date": move_out.isoformat()}],
             timeout=20, what="inventory to free the later dates")
    later = customer.post("/api/bookings", {"unit_id": unit["id"], "start_date": move_out.isoformat(),
                                            "end_date": (move_out + timedelta(days=5)).isoformat()})
    assert later.status_code == 201, later.text

    rental = advance(admin, booking["id"], move_out + timedelta(days=120))
    assert [i["period_start"] for i in invoices(customer, booking["id"])] == [start.isoformat(), second.isoformat()]
    assert rental["next_invoice_date"] is None
    fixed = customer.book(new_unit()["id"], start, days=10).json()["data"]
    assert customer.post(f"/api/bookings/{fixed['id']}/move-out",
                         {"move_out_date": (start + timedelta(days=5)).isoformat()}).status_code == 409


def test_a_rental_cancelled_before_it_starts_shows_its_refund_on_invoice_one(customer: Api, admin: Api,
                                                                             new_unit: Any) -> None:
    unit = new_unit(monthly_price=3000)
    booking = rent(customer, unit, nairobi_today() + timedelta(days=10))
    wait_rental(customer, booking["id"])
    assert admin.post(f"/api/bookings/{booking['id']}/cancel").status_code == 200  # an admin's: in full

    def refund() -> dict[str, Any] | None:
        rows = admin.get("/api/payments/refunds").json()["data"]
        return next((r for r in rows if r["booking_id"] == booking["id"]), None)

    owed = wait_for(refund, timeout=20, what="the refund")
    assert owed["amount"] == 3000
    assert admin.post(f"/api/payments/refunds/{owed['id']}/approve").status_code == 200
    wait_for(lambda: (refund() or {}).get("status") == "paid", timeout=20, what="the refund paid by B2C")
    [first] = wait_for(lambda: (found := invoices(customer, booking["id"])) and found[0]["amount_refunded"] and found,
                       timeout=20, what="invoice 1 to show the refund")
    assert (first["status"], first["amount_paid"], first["amount_refunded"]) == ("paid", 3000, 3000)
    assert [p["refunded"] for p in first["payments"]] == [3000]


def test_two_billing_replicas_bill_a_day_once_whatever_arrives_at_once(customer: Api, admin: Api, new_unit: Any,
                                                                      jesh_stack: Any) -> None:
    assert len(jesh_stack.service_urls["billing"]) >= 2
    start = nairobi_today() + timedelta(days=1)
    booking = rent(customer, new_unit(monthly_price=1500), start)
    wait_rental(customer, booking["id"])
    target = anniversary(start, 3, start.day) + timedelta(days=1)
    statuses: list[int] = []

    def go(url: str) -> None:  # straight at each replica, and through the gateway, all at once
        r = httpx.post(f"{url}/api/billing/rentals/{booking['id']}/advance", json={"to": target.isoformat()},
                       headers={"Authorization": f"Bearer {admin.token}"}, timeout=60)
        statuses.append(r.status_code)

    urls = [*jesh_stack.service_urls["billing"], jesh_stack.gateway_url, jesh_stack.gateway_url]
    threads = [threading.Thread(target=go, args=(url,)) for url in urls for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert statuses == [200] * len(threads)
    starts = [i["period_start"] for i in invoices(admin, booking["id"])]
    assert starts == [anniversary(start, k, start.day).isoformat() for k in range(4)]
    assert len(billing_events(jesh_stack, "InvoiceIssued", booking["id"])) == 3
    assert len(billing_events(jesh_stack, "InvoiceReminder", booking["id"])) == 6
    assert len(billing_events(jesh_stack, "LateFeeCharged", booking["id"])) == 2


def test_reports_add_up(customer: Api, admin: Api, new_unit: Any) -> None:
    start = nairobi_today() + timedelta(days=1)
    booking = rent(customer, new_unit(monthly_price=6000), start)
    wait_rental(customer, booking["id"])
    advance(admin, booking["id"], anniversary(start, 2, start.day) + timedelta(days=3))

    roll = admin.get("/api/billing/reports/rent-roll").json()["data"]
    open_invoices = admin.get("/api/invoices", params={"status": "open", "limit": 1000}).json()["data"]
    roll_balance = sum(r["balance"] for r in roll)
    assert roll_balance == sum(i["balance"] for i in open_invoices) > 0
    mine = next(r for r in roll if r["booking_id"] == booking["id"])
    assert mine["tenant_name"] == customer.user["name"] and mine["unit_number"].startswith("E2E-")
    aging = admin.get("/api/billing/reports/aging").json()["data"]
    assert aging["totals"]["total"] == roll_balance
    today = nairobi_today()
    revenue = admin.get("/api/billing/reports/revenue",
                        params={"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}).json()
    totals = revenue["data"]["totals"]
    assert totals["collected"] >= 6000 and totals["net"] == totals["collected"] - totals["refunds"]
    assert sum(r["collected"] for r in revenue["data"]["rows"]) == totals["collected"]
    # Every month of the range has its rows, zeros where nothing moved (a chart of it skips no month).
    months = admin.get("/api/billing/reports/revenue", params={"from": "2025-01-15", "to": "2025-04-02"}).json()
    assert sorted({r["month"] for r in months["data"]["rows"]}) == ["2025-01", "2025-02", "2025-03", "2025-04"]
    as_csv = admin.get("/api/billing/reports/aging", params={"format": "csv"})
    assert as_csv.status_code == 200 and as_csv.text.startswith("booking_id,")
    assert customer.get("/api/billing/reports/rent-roll").status_code == 403

    occupancy = admin.get("/api/units/reports/occupancy")
    assert occupancy.status_code == 200, occupancy.text
    report = occupancy.json()["data"]
    assert 0 <= report["physical_occupancy"] <= 100 and 0 <= report["economic_occupancy"] <= 100
    assert report["units"] == sum(report["by_status"].values())
