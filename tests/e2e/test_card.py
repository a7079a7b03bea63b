"""Card payments through the whole stack: the gateway, two payments replicas, booking, and the Pesapal simulator
(its payment page, its IPN to the gateway, its status query, its refunds)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest

from billing.rules import anniversary
from jeshkit.clock import nairobi_today
from jeshstack.testing import wait_for
from tests.e2e.api import Api, far_future
from tests.e2e.test_billing import LEAD, account, advance, invoices, wait_rental
from tests.e2e.test_billing import PAYS as MPESA_PAYS
from tests.e2e.test_notifications import notifications

pytestmark = pytest.mark.e2e

PAYS = "4111111111111111"
DECLINED = "4000000000000002"


def pay_card(customer: Api, booking_id: int) -> dict[str, Any]:
    r = customer.post("/api/payments/card/initiate", {"booking_id": booking_id})
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def on_pesapal_page(redirect_url: str, **form: str) -> httpx.Response:
    """The customer's browser on Pesapal's page: the form is posted, Pesapal answers 303 back to us."""
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        assert browser.get(redirect_url).status_code == 200
        return browser.post(redirect_url, data=form)


def order(stack: Any, tracking_id: str) -> dict[str, Any]:
    return dict(httpx.get(f"{stack.pesapal_url}/simulator/orders/{tracking_id}", timeout=10).json())


def sms(customer: Api, template: str, mentioning: str, timeout: float = 10) -> str:
    """The customer's SMS of that template that mentions this (a booking's #id, an invoice's number)."""
    def found() -> str | None:
        rows = notifications(customer, template=template, channel="sms")
        return next((r["body"] for r in rows if mentioning in r["body"]), None)

    return wait_for(found, timeout=timeout, what=f"the {template} SMS mentioning {mentioning}")


def sim_stats(stack: Any) -> dict[str, int]:
    return dict(httpx.get(f"{stack.pesapal_url}/simulator/stats", timeout=10).json())


def test_a_card_payment_confirms_the_booking(jesh_stack: Any, customer: Api, new_unit: Any) -> None:
    unit = new_unit(monthly_price=3000)
    booking = customer.book(unit["id"], far_future(600), days=30).json()["data"]
    started = pay_card(customer, booking["id"])
    assert started["redirect_url"].startswith(jesh_stack.pesapal_url)
    made = order(jesh_stack, started["order_tracking_id"])
    assert made["amount"] == 3000 and made["currency"] == "KES"
    assert made["billing_address"]["email_address"] == customer.user["email"]

    back = on_pesapal_page(started["redirect_url"], card_number=PAYS)
    assert back.status_code == 303
    assert back.headers["location"].startswith(f"{jesh_stack.gateway_url}/api/payments/card/return?")
    confirmed = customer.wait_booking(booking["id"], status="confirmed", payment_status="success")
    assert confirmed["total_price"] == 3000
    status = customer.get(f"/api/payments/status/{booking['id']}").json()["data"]
    code = order(jesh_stack, started["order_tracking_id"])["confirmation_code"]
    assert status["method"] == "card" and status["status"] == "success" and status["transaction_code"] == code
    [delivery] = wait_for(lambda: order(jesh_stack, started["order_tracking_id"])["ipn_deliveries"], what="the IPN")
    assert delivery["status_code"] == 200 and delivery["answer"]["status"] == 200
    assert delivery["answer"]["orderTrackingId"] == started["order_tracking_id"]
    returned = httpx.get(back.headers["location"], timeout=10)
    assert returned.status_code == 200 and returned.json()["data"]["status"] == "success"
    # The confirmation names the receipt the customer has: Pesapal's, not an M-PESA one.
    assert f"Paid KES 3,000, Pesapal ref {code}." in sms(customer, "booking_confirmed", f"#{booking['id']} ")


def test_a_declined_card_leaves_the_booking_pending_and_retryable(
    jesh_stack: Any, customer: Api, new_unit: Any
) -> None:
    unit = new_unit()
    booking = customer.book(unit["id"], far_future(610), days=10).json()["data"]
    first = pay_card(customer, booking["id"])
    assert on_pesapal_page(first["redirect_url"], card_number=DECLINED).status_code == 303
    customer.wait_booking(booking["id"], status="pending", payment_status="failed")
    status = customer.get(f"/api/payments/status/{booking['id']}").json()["data"]
    assert status["status"] == "failed" and status["method"] == "card"

    second = pay_card(customer, booking["id"])
    on_pesapal_page(second["redirect_url"], card_number=PAYS)
    customer.wait_booking(booking["id"], status="confirmed", payment_status="success")


def test_a_forged_or_replayed_ipn_changes_nothing(jesh_stack: Any, customer: Api, new_unit: Any) -> None:
    unit = new_unit()
    booking = customer.book(unit["id"], far_future(620), days=10).json()["data"]
    started = pay_card(customer, booking["id"])
    made = order(jesh_stack, started["order_tracking_id"])
    hook = made["ipn_url"].replace(jesh_stack.gateway_url, "")
    notice = {"OrderTrackingId": made["order_tracking_id"], "OrderMerchantReference": made["merchant_reference"],
              "OrderNotificationType": "IPNCHANGE"}
    # somebody tells us the order was paid: the status query says it was not
    for _ in range(2):
        r = customer.client.get(hook, params=notice)
        assert r.status_code == 200 and r.json() == {"orderNotificationType": "IPNCHANGE",
                                                     "orderTrackingId": made["order_tracking_id"],
                                                     "orderMerchantReference": made["merchant_reference"],
                                                     "status": 200}
    assert customer.client.post(hook, json={**notice, "OrderTrackingId": "not-an-order"}).status_code == 200
    assert customer.client.get("/api/payments/hooks/pesapal/wrong-token", params=notice).status_code == 200
    assert customer.booking(booking["id"])["status"] == "pending"
    assert customer.get(f"/api/payments/status/{booking['id']}").json()["data"]["status"] == "pending"

    on_pesapal_page(started["redirect_url"], card_number=PAYS)
    customer.wait_booking(booking["id"], status="confirmed")
    for _ in range(2):  # replayed after success: still one payment
        assert customer.client.post(hook, json=notice).json()["status"] == 200
    payments = [p for p in jesh_stack_admin_payments(jesh_stack, booking["id"])]
    assert [p["status"] for p in payments] == ["success"]


def jesh_stack_admin_payments(stack: Any, booking_id: int) -> list[dict[str, Any]]:
    r = httpx.get(f"{stack.gateway_url}/api/payments", params={"booking_id": booking_id},
                  headers={"Authorization": f"Bearer {stack.admin_token()}"}, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def test_an_ipn_that_never_arrives_is_settled_by_reconciliation(
    jesh_stack: Any, customer: Api, new_unit: Any
) -> None:
    unit = new_unit()
    booking = customer.book(unit["id"], far_future(630), days=10).json()["data"]
    started = pay_card(customer, booking["id"])
    assert on_pesapal_page(started["redirect_url"], card_number=PAYS, send_ipn="0").status_code == 303
    customer.wait_booking(booking["id"], timeout=60, status="confirmed", payment_status="success")
    assert order(jesh_stack, started["order_tracking_id"])["ipn_deliveries"] == []
    status = customer.get(f"/api/payments/status/{booking['id']}").json()["data"]
    assert status["method"] == "card" and status["transaction_code"]


def test_an_expired_pesapal_token_is_refreshed_once(jesh_stack: Any, customer: Api, new_unit: Any) -> None:
    bookings = [customer.book(new_unit()["id"], far_future(640 + 20 * i), days=10).json()["data"] for i in range(6)]
    pay_card(customer, bookings[0]["id"])  # a token exists
    httpx.post(f"{jesh_stack.pesapal_url}/simulator/tokens/expire", timeout=10)
    before = sim_stats(jesh_stack)["tokens_issued"]
    answers: list[int] = []
    gate = threading.Barrier(5)

    def initiate(booking_id: int) -> None:
        api = Api(customer.base_url, customer.token)
        try:
            gate.wait()
            answers.append(api.post("/api/payments/card/initiate", {"booking_id": booking_id}).status_code)
        finally:
            api.close()

    threads = [threading.Thread(target=initiate, args=(b["id"],)) for b in bookings[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 5
    assert sim_stats(jesh_stack)["tokens_issued"] == before + 1


def test_a_card_refund_is_paid(jesh_stack: Any, customer: Api, admin: Api, new_unit: Any) -> None:
    unit = new_unit(monthly_price=3000)
    booking = customer.book(unit["id"], far_future(760), days=30).json()["data"]
    started = pay_card(customer, booking["id"])
    on_pesapal_page(started["redirect_url"], card_number=PAYS)
    customer.wait_booking(booking["id"], status="confirmed")
    assert admin.post(f"/api/bookings/{booking['id']}/cancel").status_code == 200

    def refund() -> dict[str, Any] | None:
        rows = admin.get("/api/payments/refunds").json()["data"]
        return next((x for x in rows if x["booking_id"] == booking["id"]), None)

    required = wait_for(refund, what="the refund")
    assert required["method"] == "card" and required["amount"] == 3000
    r = admin.post(f"/api/payments/refunds/{required['id']}/approve")
    assert r.status_code == 200, r.text
    paid = wait_for(lambda: (x := refund()) and x["status"] == "paid" and x, timeout=20, what="the refund paid")
    made = order(jesh_stack, started["order_tracking_id"])
    assert made["refund"]["amount"] == 3000 and made["payment_status_description"] == "REVERSED"
    assert paid["receipt"] == made["confirmation_code"]
    status = customer.get(f"/api/payments/status/{booking['id']}").json()["data"]
    assert status["refund"]["status"] == "paid"
    assert sms(customer, "refund_paid", f"#{booking['id']} ").endswith(
        f"sent to the card or account you paid with, ref {paid['receipt']}.")


def rent(customer: Api, unit: dict[str, Any], start: Any) -> dict[str, Any]:
    """Book the unit monthly (again while booking answers "please retry": a loaded machine's peer timeout) and pay
    the first month by M-PESA; the confirmed booking."""
    def book() -> dict[str, Any] | None:
        r = customer.post("/api/bookings", {"unit_id": unit["id"], "start_date": start.isoformat(), "plan": "monthly"})
        if r.status_code == 503:
            return None
        assert r.status_code == 201, r.text
        return dict(r.json()["data"])

    booking = wait_for(book, timeout=30, what="the monthly booking")
    assert customer.pay(booking["id"], MPESA_PAYS).status_code == 200
    return customer.wait_booking(booking["id"], status="confirmed", payment_status="success")


def test_a_card_pays_an_invoice_in_billing(jesh_stack: Any, customer: Api, admin: Api, new_unit: Any) -> None:
    unit = new_unit(monthly_price=4200)
    start = nairobi_today() + timedelta(days=2)
    booking = rent(customer, unit, start)
    wait_rental(customer, booking["id"])
    advance(admin, booking["id"], anniversary(start, 1, start.day) - timedelta(days=LEAD))  # invoice 2 is issued
    second = invoices(customer, booking["id"])[1]
    assert (second["status"], second["balance"]) == ("open", 4200)

    r = customer.post("/api/payments/card/initiate", {"invoice_id": second["id"]})
    assert r.status_code == 200, r.text
    started = r.json()["data"]
    made = order(jesh_stack, started["order_tracking_id"])
    assert made["amount"] == 4200 and made["currency"] == "KES"
    assert on_pesapal_page(started["redirect_url"], card_number=PAYS).status_code == 303

    def paid() -> dict[str, Any] | None:
        invoice = customer.get(f"/api/invoices/{second['id']}").json()["data"]
        return dict(invoice) if invoice["status"] == "paid" else None

    invoice = wait_for(paid, timeout=30, what="invoice 2 paid by card")
    code = order(jesh_stack, started["order_tracking_id"])["confirmation_code"]
    assert invoice["balance"] == 0 and [(p["method"], p["receipt"]) for p in invoice["payments"]] == [("card", code)]
    rental = account(customer, booking["id"])
    assert (rental["balance"], rental["delinquency_stage"]) == (0, "current")
    assert f"Received KES 4,200 for invoice {second['number']}, Pesapal ref {code}." in sms(
        customer, "payment_received", second["number"])
    again = customer.post("/api/payments/card/initiate", {"invoice_id": second["id"]})
    assert again.status_code == 409, again.text
