"""An operator sends an M-PESA prompt to a customer's phone (POST /api/payments/mpesa/prompt, admin): for the
customer's pending booking or open invoice, under /mpesa/initiate's rules; the payment is the customer's; the act
is audited."""

from __future__ import annotations

from typing import Any

import pytest

PROMPT = "/api/payments/mpesa/prompt"
OWNER, STRANGER, ADMIN = 11, 12, 1


def test_an_admin_prompts_the_owner_of_a_booking_who_then_pays(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER, total_price=4500)
    admin = stack.keys.headers(ADMIN, "admin")
    r = client.post(PROMPT, json={"booking_id": booking_id, "phone_number": "+254 708 374 149"}, headers=admin)
    assert r.status_code == 200, r.text
    started = r.json()["data"]
    assert set(started) >= {"payment_id", "CheckoutRequestID", "CustomerMessage"}
    pushed = stack.sim.transaction(started["CheckoutRequestID"])
    assert pushed["Amount"] == 4500 and str(pushed["PhoneNumber"]) == "254708374149"

    # The payment is the customer's: their status shows it, and its success is published under their id.
    [row] = stack.payments(booking_id)
    assert row["user_id"] == OWNER and row["phone_number"] == "254708374149"
    assert stack.wait_event("PaymentSucceeded", booking_id)["user_id"] == OWNER
    status = stack.status(client, booking_id, OWNER)
    assert status.status_code == 200 and status.json()["data"]["status"] == "success"

    [entry] = client.get("/api/payments/admin/audit", headers=admin).json()["data"]
    assert (entry["action"], entry["target"], entry["actor_id"]) == (
        "payment.prompted", f"payment:{started['payment_id']}", ADMIN)
    assert entry["details"] == {"booking_id": booking_id, "invoice_id": None, "user_id": OWNER, "amount": 4500,
                                "phone_number": "254708374149"}
    # Paid now: a second prompt is refused as /mpesa/initiate refuses it.
    again = client.post(PROMPT, json={"booking_id": booking_id, "phone_number": "0708374149"}, headers=admin)
    assert again.status_code == 409 and again.json()["message"] == "Booking is already paid"


def test_an_admin_prompts_for_an_open_invoice_for_its_balance(stack: Any, billing: dict[str, Any]) -> None:
    client = stack.start(billing_url=billing["url"])
    billing["invoices"][701] = {"id": 701, "number": "INV-000701", "booking_id": 91, "user_id": OWNER,
                                "total": 3500, "balance": 2000, "status": "open"}
    admin = stack.keys.headers(ADMIN, "admin")
    r = client.post(PROMPT, json={"invoice_id": 701, "phone_number": "0708374149"}, headers=admin)
    assert r.status_code == 200, r.text
    pushed = stack.sim.transaction(r.json()["data"]["CheckoutRequestID"])
    assert pushed["Amount"] == 2000 and pushed["AccountReference"] == "INV-000701"
    event = stack.wait_event("PaymentSucceeded", 91)
    assert (event["invoice_id"], event["user_id"], event["amount"]) == (701, OWNER, 2000)
    billing["invoices"][701].update(balance=0, status="paid")
    paid = client.post(PROMPT, json={"invoice_id": 701, "phone_number": "0708374149"}, headers=admin)
    assert paid.status_code == 409 and paid.json()["message"] == "Invoice is already paid"


def test_only_an_admin_may_prompt_and_nothing_is_sent_otherwise(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    body = {"booking_id": booking_id, "phone_number": "0708374149"}
    assert client.post(PROMPT, json=body).status_code == 401
    for user_id in (OWNER, STRANGER):  # even the owner: they have /mpesa/initiate
        r = client.post(PROMPT, json=body, headers=stack.keys.headers(user_id))
        assert r.status_code == 403 and r.json()["message"] == "Unauthorized", r.text
    assert stack.payments(booking_id) == [] and stack.sim.daraja.stats["stk_pushes"] == 0


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"phone_number": "0708374149"}, 400, "booking_id"),
    ({"booking_id": 5, "invoice_id": 6, "phone_number": "0708374149"}, 400, "invoice_id"),
    ({"booking_id": 5, "phone_number": "12"}, 400, "phone_number"),
    ({"booking_id": True, "phone_number": "0708374149"}, 400, "booking_id"),
    ({"booking_id": 5}, 400, "phone_number"),
])
def test_bad_prompts_are_400_and_send_nothing(stack: Any, body: dict[str, Any], status: int, field: str) -> None:
    client = stack.start()
    r = client.post(PROMPT, json=body, headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == status, r.text
    assert field in {e["field"].split(".")[-1] for e in r.json()["errors"]}, r.json()
    assert stack.sim.daraja.stats["stk_pushes"] == 0

