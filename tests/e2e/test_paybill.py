"""The Paybill (M-PESA C2B) through the real gateway: a customer pays from their phone's menu with the account
number the portal gives them (the Daraja simulator plays M-PESA, the stack registered the URLs at start)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from billing.rules import anniversary
from jeshstack.testing import wait_for
from tests.e2e.api import Api, far_future
from tests.e2e.test_billing import advance, invoices, rent, wait_rental
from tests.e2e.test_card import sms

pytestmark = pytest.mark.e2e


def pay_paybill(jesh_stack: Any, account: str, amount: int) -> None:
    r = httpx.post(f"{jesh_stack.simulator_url}/simulator/c2b/pay", timeout=10, json={
        "ShortCode": "174379", "CommandID": "CustomerPayBillOnline", "Amount": amount, "Msisdn": "254708374149",
        "BillRefNumber": account})
    assert r.status_code == 200, r.text


def without_external_validation(simulator: str, paybill: str = "174379") -> None:
    """M-PESA as Safaricom has a paybill unless asked otherwise: no validation request, every payment completes (so
    a mistyped account number or a wrong amount is money payments must hold). Payments' validation URL is replaced,
    in the simulator only, by one that cannot answer, with ResponseType Completed; payments' registration
    (POST /api/payments/paybill/register) puts it back."""
    registration = next(r for r in httpx.get(f"{simulator}/simulator/c2b", timeout=30).json()["registrations"]
                        if r["ShortCode"] == paybill)
    token = httpx.get(f"{simulator}/oauth/v1/generate", params={"grant_type": "client_credentials"},
                      auth=("test-paybill", "not-payments"), timeout=30).json()["access_token"]
    r = httpx.post(f"{simulator}/mpesa/c2b/v2/registerurl", timeout=30, headers={"Authorization": f"Bearer {token}"},
                   json={"ShortCode": paybill, "ResponseType": "Completed",
                         "ConfirmationURL": registration["ConfirmationURL"],
                         "ValidationURL": f"{simulator}/healthz"})  # a POST there is refused: no usable answer
    assert r.status_code == 200, r.text


def test_money_short_of_a_booking_s_price_waits_and_its_customer_is_told(
    jesh_stack: Any, customer: Api, admin: Api, new_unit: Any
) -> None:
    unit = new_unit(monthly_price=3000)
    r = customer.book(unit["id"], far_future(70), 10)
    assert r.status_code == 201, r.text
    booking = r.json()["data"]
    price = booking["total_price"]
    try:
        without_external_validation(jesh_stack.simulator_url)
        pay_paybill(jesh_stack, f"JESH {booking['id']}", price - 100)
        # As usual within a second; the waits cover one lost Transaction Status result (see below).
        body = sms(customer, "payment_wrong_amount", f"#{booking['id']}", timeout=60)
    finally:
        assert admin.post("/api/payments/paybill/register").status_code == 200
    found = re.fullmatch(rf"We received KES {price - 100:,} \(ref (\w+)\) for booking #{booking['id']}, which costs "
                         rf"KES {price:,}: it is not paid\. We will refund or apply it\. Help: .+", body)
    assert found, body
    unmatched = [u for u in admin.get("/api/payments/unmatched").json()["data"] if u["receipt"] == found[1]]
    assert [(u["source"], u["amount"]) for u in unmatched] == [("paybill", price - 100)]
    assert customer.booking(booking["id"])["status"] == "pending"  # not paid: it waits for the operator


def test_a_booking_paid_to_the_paybill_is_confirmed(jesh_stack: Any, customer: Api, admin: Api,
                                                    new_unit: Any) -> None:
    assert customer.get("/api/payments/paybill").json()["data"] == {"enabled": True, "business_number": "174379"}
    unit = new_unit(monthly_price=3000)
    r = customer.book(unit["id"], far_future(40), 10)
    assert r.status_code == 201, r.text
    booking = r.json()["data"]

    pay_paybill(jesh_stack, f"JESH-{booking['id']}", booking["total_price"] - 1)  # refused by our validation
    pay_paybill(jesh_stack, f"JESH-{booking['id']}", booking["total_price"])
    customer.wait_booking(booking["id"], timeout=60, status="confirmed", payment_status="success")  # see below
    c2b = httpx.get(f"{jesh_stack.simulator_url}/simulator/c2b", timeout=10).json()["transactions"]
    mine = [t for t in c2b if t["BillRefNumber"] == f"JESH-{booking['id']}"]
    assert sorted(t["status"] for t in mine) == ["completed", "rejected"]
    [paid] = [t for t in mine if t["status"] == "completed"]
    listed = wait_for(lambda: [p for p in admin.get("/api/payments/paybill/payments").json()["data"]
                               if p["receipt"] == paid["TransID"] and p["status"] == "applied"], what="listed")
    assert listed[0]["booking_id"] == booking["id"]


def test_an_invoice_number_pays_the_rental_s_invoice(jesh_stack: Any, customer: Api, admin: Api,
                                                     new_unit: Any) -> None:
    unit = new_unit(monthly_price=2500)
    start = far_future(5)
    booking = rent(customer, unit, start)
    wait_rental(customer, booking["id"])  # billing has heard of the rental (events)
    advance(admin, booking["id"], anniversary(start, 1, start.day) - timedelta(days=7))  # invoice 2 issued
    second = wait_for(lambda: (i := invoices(customer, booking["id"])) and len(i) == 2 and i[1], what="invoice 2")
    assert (second["status"], second["balance"]) == ("open", 2500)

    pay_paybill(jesh_stack, second["number"].lower().replace("-", " "), 2500)  # typed loosely
    # Usually paid within a second. A Transaction Status result that never comes is asked again after
    # PAYBILL_STATUS_WAIT_SECONDS (30) on the money job's next round (every 15 s): the waits cover one such retry.
    wait_for(lambda: invoices(customer, booking["id"])[1]["status"] == "paid", timeout=60, what="invoice 2 paid")
    [payment] = invoices(customer, booking["id"])[1]["payments"]
    assert (payment["amount"], payment["method"]) == (2500, "mpesa")
