"""Cash at the desk through the real gateway: an operator records cash for a customer's booking and for a rental's
invoice; booking, billing and notifications take it like any other payment, and the day's cash book adds up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from billing.rules import anniversary
from jeshstack.testing import wait_for
from tests.e2e.api import Api, far_future
from tests.e2e.test_billing import advance, invoices, rent, wait_rental
from tests.e2e.test_card import sms

pytestmark = pytest.mark.e2e


def test_cash_confirms_a_booking_and_pays_part_of_an_invoice(customer: Api, admin: Api, new_unit: Any) -> None:
    unit = new_unit(monthly_price=3000)
    r = customer.book(unit["id"], far_future(70), 10)
    assert r.status_code == 201, r.text
    booking = r.json()["data"]
    account = f"JESH-{booking['id']}"

    r = admin.post("/api/payments/cash", {"account": account, "amount": booking["total_price"] + 1})
    assert r.status_code == 409 and f"costs KES {booking['total_price']}" in r.json()["message"], r.text
    assert customer.post("/api/payments/cash", {"account": account, "amount": 1}).status_code == 403
    r = admin.post("/api/payments/cash", {"account": account, "amount": booking["total_price"], "note": "slip 17"})
    assert r.status_code == 201, r.text
    receipt = r.json()["data"]["receipt"]
    assert receipt.startswith("CASH-")
    customer.wait_booking(booking["id"], status="confirmed", payment_status="success")
    assert f"cash ref {receipt}." in sms(customer, "booking_confirmed", f"#{booking['id']} ")

    other = new_unit(monthly_price=2500)
    start = far_future(8)
    rental = rent(customer, other, start)
    wait_rental(customer, rental["id"])
    advance(admin, rental["id"], anniversary(start, 1, start.day) - timedelta(days=7))  # invoice 2 issued
    second = wait_for(lambda: (i := invoices(customer, rental["id"])) and len(i) == 2 and i[1], what="invoice 2")
    r = admin.post("/api/payments/cash", {"account": second["number"], "amount": 1000})
    assert r.status_code == 201, r.text
    paid = wait_for(lambda: (i := invoices(customer, rental["id"])[1])["amount_paid"] == 1000 and i,
                    timeout=20, what="the cash on invoice 2")
    assert (paid["status"], paid["balance"], [p["method"] for p in paid["payments"]]) == ("open", 1500, ["cash"])

    book = admin.get("/api/payments/cash").json()["data"]
    mine = {line["receipt"]: line for line in book["received"]}
    assert mine[receipt]["account"] == account and mine[receipt]["note"] == "slip 17"
    assert mine[r.json()["data"]["receipt"]]["invoice_id"] == second["id"]
    assert book["received_total"] == sum(line["amount"] for line in book["received"])
    assert book["net"] == book["received_total"] - book["paid_back_total"]

    # The end of the day: the drawer counted KES 100 short of what the book says it should hold.
    assert book["closing"] == book["opening"] + book["net"] - book["banked_total"] + book["float_total"]
    r = admin.post("/api/payments/cash/counts", {"counted": book["closing"] - 100})
    assert r.status_code == 201, r.text
    assert (r.json()["data"]["expected"], r.json()["data"]["difference"]) == (book["closing"], -100)
    assert customer.post("/api/payments/cash/counts", {"counted": 0}).status_code == 403
    assert admin.get("/api/payments/cash").json()["data"]["counts"][0]["id"] == r.json()["data"]["id"]
