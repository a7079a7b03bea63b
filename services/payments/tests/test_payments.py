"""Payments end to end: the service over HTTP, the Daraja simulator over HTTP, real PostgreSQL and NATS."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from jeshstack.testing import wait_for

OWNER = 11
STRANGER = 12
ADMIN = 1


# --- the happy path -------------------------------------------------------------------------------
def test_happy_path_prompt_callback_confirmation_and_event(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER, total_price=4500)

    r = stack.initiate(client, booking_id, OWNER, phone="+254 708 374149", amount=4500, account_reference="Unit A-12")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    data = body["data"]
    assert set(data) == {
        "payment_id", "MerchantRequestID", "CheckoutRequestID", "ResponseCode", "ResponseDescription",
        "CustomerMessage",
    }
    assert data["ResponseCode"] == "0"
    checkout = data["CheckoutRequestID"]

    pushed = stack.sim.transaction(checkout)
    assert pushed["Amount"] == 4500
    assert pushed["PhoneNumber"] == pushed["PartyA"] == "254708374149"
    assert pushed["PartyB"] == "174379"
    assert pushed["AccountReference"] == "Unit A-12"
    assert pushed["CallBackURL"].startswith(f"http://127.0.0.1:{client.port}/api/payments/hooks/stk/")

    status = stack.status(client, booking_id, OWNER).json()["data"]
    assert status["status"] == "pending" and status["transaction_code"] is None

    event = stack.wait_event("PaymentSucceeded", booking_id)
    receipt = stack.sim.transaction(checkout)["MpesaReceiptNumber"]
    assert event == {
        "payment_id": data["payment_id"],
        "booking_id": booking_id,
        "invoice_id": None,
        "user_id": OWNER,
        "amount": 4500,
        "method": "mpesa",
        "receipt": receipt,
        "checkout_request_id": checkout,
        "paid_at": event["paid_at"],
    }
    status = stack.status(client, booking_id, OWNER).json()
    assert status == {
        "success": True,
        "data": {
            "id": data["payment_id"],
            "status": "success",
            "amount": 4500,
            "method": "mpesa",
            "transaction_code": receipt,
            "timestamp": status["data"]["timestamp"],
            "reason": None,
            "refund": None,
        },
    }
    # written as every service writes a moment: UTC with its offset (pydantic alone wrote "Z")
    assert datetime.fromisoformat(status["data"]["timestamp"]).tzinfo == UTC
    assert status["data"]["timestamp"].endswith("+00:00")
    assert stack.outbox("PaymentFailed", booking_id) == []
    # the callback was confirmed with STK Push Query before it was trusted
    assert stack.sim.daraja.stats["stk_queries"] >= 1
    assert stack.payment(checkout)["discrepancy"] is None

    again = stack.initiate(client, booking_id, OWNER)
    assert again.status_code == 409 and again.json()["message"] == "Booking is already paid"


# --- failures ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("phone", "code", "reason"),
    [
        ("0708371032", 1032, "The payment was cancelled by the user"),
        ("0708371037", 1037, "The phone could not be reached"),
        ("0708370001", 1, "Insufficient M-PESA balance"),
        ("0708372001", 2001, "Wrong M-PESA PIN"),
    ],
)
def test_each_failure_code_fails_the_payment_and_allows_a_retry(
    stack: Any, booking_id: int, phone: str, code: int, reason: str
) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    started = stack.pay(client, booking_id, OWNER, phone=phone)

    event = stack.wait_event("PaymentFailed", booking_id)
    assert event == {
        "payment_id": started["payment_id"],
        "booking_id": booking_id,
        "invoice_id": None,
        "user_id": OWNER,
        "amount": 4500,
        "method": "mpesa",
        "result_code": code,
        "reason": reason,
        "checkout_request_id": started["CheckoutRequestID"],
    }
    status = stack.status(client, booking_id, OWNER).json()["data"]
    assert status["status"] == "failed" and status["transaction_code"] is None
    assert status["reason"] == reason  # the portal shows it
    assert stack.outbox("PaymentSucceeded", booking_id) == []

    retry = stack.pay(client, booking_id, OWNER, phone="0708374149")  # the booking is still pending
    assert retry["payment_id"] != started["payment_id"]
    assert stack.wait_event("PaymentSucceeded", booking_id)["payment_id"] == retry["payment_id"]


def test_never_delivered_callback_is_settled_by_reconciliation_once_across_replicas(
    stack: Any, booking_id: int
) -> None:
    first = stack.start(payment_reconcile_after_seconds=1.0)
    stack.start(payment_reconcile_after_seconds=1.0)  # a second replica reconciling the same database
    stack.booking(booking_id, OWNER)
    started = stack.pay(first, booking_id, OWNER, phone="0708370000")  # success, but no callback ever

    stack.sim.settled_callback(started["CheckoutRequestID"])
    assert stack.status(first, booking_id, OWNER).json()["data"]["status"] == "pending"

    event = stack.wait_event("PaymentSucceeded", booking_id, timeout=15)
    assert event["payment_id"] == started["payment_id"] and event["receipt"] is None
    assert stack.sim.transaction(started["CheckoutRequestID"])["deliveries"] == []
    time.sleep(0.6)  # both replicas have had several more rounds
    assert len(stack.outbox("PaymentSucceeded", booking_id)) == 1
    assert stack.status(first, booking_id, OWNER).json()["data"]["status"] == "success"


def test_reconciliation_keeps_asking_while_daraja_says_processing(stack: Any, booking_id: int) -> None:
    client = stack.start(payment_reconcile_after_seconds=0.2)
    stack.booking(booking_id, OWNER)
    started = stack.pay(client, booking_id, OWNER, phone="0708371037")  # settles after the slow delay

    wait_for(lambda: stack.payment(started["CheckoutRequestID"])["check_attempts"] >= 1, what="a first query")
    assert stack.payment(started["CheckoutRequestID"])["status"] == "pending"
    event = stack.wait_event("PaymentFailed", booking_id)
    assert event["result_code"] == 1037


# --- forged callbacks -------------------------------------------------------------------------------
def forged_success(checkout: str, amount: float = 4500.0, receipt: str = "FAKE123456") -> dict[str, Any]:
    return {
        "Body": {
            "stkCallback": {
                "MerchantRequestID": "1-2-3",
                "CheckoutRequestID": checkout,
                "ResultCode": 0,
                "ResultDesc": "The service request is processed successfully.",
                "CallbackMetadata": {
                    "Item": [
                        {"Name": "Amount", "Value": amount},
                        {"Name": "MpesaReceiptNumber", "Value": receipt},
                        {"Name": "Balance"},
                        {"Name": "TransactionDate", "Value": 20300101120000},
                        {"Name": "PhoneNumber", "Value": 254708371037},
                    ]
                },
            }
        }
    }


def test_forged_success_while_the_payer_has_not_answered_confirms_nothing(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    started = stack.pay(client, booking_id, OWNER, phone="0708371037")  # really: unreachable, after a while
    checkout = started["CheckoutRequestID"]

    r = stack.post_callback(stack.callback_url(checkout), forged_success(checkout))
    assert r.status_code == 200 and r.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    row = stack.payment(checkout)
    assert row["status"] == "pending" and row["receipt"] is None and row["callbacks_received"] == 1

    event = stack.wait_event("PaymentFailed", booking_id)  # the genuine callback
    assert event["result_code"] == 1037
    assert stack.outbox("PaymentSucceeded", booking_id) == []
    assert stack.status(client, booking_id, OWNER).json()["data"]["status"] == "failed"


def test_forged_success_after_a_failure_is_refuted_by_the_query(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    checkout = stack.pay(client, booking_id, OWNER, phone="0708371032")["CheckoutRequestID"]
    stack.wait_event("PaymentFailed", booking_id)

    r = stack.post_callback(stack.callback_url(checkout), forged_success(checkout))
    assert r.status_code == 200
    row = stack.payment(checkout)
    assert row["status"] == "failed" and row["receipt"] is None
    assert "query says 1032" in row["discrepancy"]
    assert stack.outbox("PaymentSucceeded", booking_id) == []


def test_success_callback_with_the_wrong_amount_is_not_trusted(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    checkout = stack.pay(client, booking_id, OWNER, phone="0708370000")["CheckoutRequestID"]
    genuine = stack.sim.settled_callback(checkout)  # Daraja's query now says paid

    r = stack.post_callback(stack.callback_url(checkout), forged_success(checkout, amount=1.0))
    assert r.status_code == 200
    row = stack.payment(checkout)
    assert row["status"] == "pending"
    assert "claimed 1.0 KES but 4500 KES was charged" in row["discrepancy"]
    assert stack.outbox("PaymentSucceeded", booking_id) == []

    stack.post_callback(stack.callback_url(checkout), genuine)  # the right amount settles it
    assert stack.wait_event("PaymentSucceeded", booking_id)["receipt"] == stack.sim.transaction(checkout)[
        "MpesaReceiptNumber"
    ]


def test_success_callback_with_another_payment_s_receipt_is_not_trusted(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    paid = stack.pay(client, booking_id, OWNER)["CheckoutRequestID"]
    stack.wait_event("PaymentSucceeded", booking_id)
    receipt = stack.payment(paid)["receipt"]
    other = booking_id + 1_000_000  # beyond the fixture's ids
    stack.booking(other, OWNER)
    checkout = stack.pay(client, other, OWNER, phone="0708370000")["CheckoutRequestID"]
    genuine = stack.sim.settled_callback(checkout)  # Daraja's query now says paid

    stack.post_callback(stack.callback_url(checkout), forged_success(checkout, receipt=receipt))
    row = stack.payment(checkout)
    assert row["status"] == "pending" and row["callbacks_received"] == 1
    assert f"carried receipt {receipt} of payment" in row["discrepancy"]
    assert stack.outbox("PaymentSucceeded", other) == []

    stack.post_callback(stack.callback_url(checkout), genuine)  # its own receipt settles it
    assert stack.wait_event("PaymentSucceeded", other)["receipt"] == stack.sim.transaction(checkout)[
        "MpesaReceiptNumber"
    ]


def test_the_same_callback_ten_times_at_once_gives_one_success_and_one_event(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    checkout = stack.pay(client, booking_id, OWNER, phone="0708370000")["CheckoutRequestID"]
    body = stack.sim.settled_callback(checkout)
    url = stack.callback_url(checkout)

    barrier = threading.Barrier(10)
    answers: list[Any] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(stack.post_callback(url, body))

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 10
    assert all(a.json() == {"ResultCode": 0, "ResultDesc": "Success"} for a in answers)

    # callbacks are processed within their request: all ten are done, and exactly one event was staged
    assert len(stack.outbox("PaymentSucceeded", booking_id)) == 1
    stack.wait_event("PaymentSucceeded", booking_id)  # and exactly one reached NATS
    rows = stack.payments(booking_id)
    assert len(rows) == 1 and rows[0]["status"] == "success"
    assert rows[0]["callbacks_received"] == 10
    assert rows[0]["receipt"] == stack.sim.transaction(checkout)["MpesaReceiptNumber"]


def test_a_confirmed_success_is_never_downgraded(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    checkout = stack.pay(client, booking_id, OWNER)["CheckoutRequestID"]
    stack.wait_event("PaymentSucceeded", booking_id)

    failure = {"Body": {"stkCallback": {"CheckoutRequestID": checkout, "ResultCode": 1032,
                                        "ResultDesc": "Request cancelled by user"}}}
    assert stack.post_callback(stack.callback_url(checkout), failure).status_code == 200
    row = stack.payment(checkout)
    assert row["status"] == "success"
    assert "reported 1032" in row["discrepancy"]
    assert stack.outbox("PaymentFailed", booking_id) == []


GARBAGE: list[Any] = [
    b"",
    b"not json at all",
    b"[1, 2, 3]",
    b"null",
    b"{}",
    b'{"Body": {}}',
    b'{"Body": {"stkCallback": null}}',
    b'{"Body": {"stkCallback": {"ResultCode": 0}}}',
    b'{"Body": {"stkCallback": {"CheckoutRequestID": 12345, "ResultCode": 0}}}',
    b"\xff\xfe\x00garbage",
    b"[" * 5000,
    b'{"a": "' + b"x" * 100_000 + b'"}',
]


def test_garbage_callbacks_are_answered_200_and_change_nothing(stack: Any, booking_id: int) -> None:
    client = stack.start(mpesa_callback_token="s3cret-hook-token")
    stack.booking(booking_id, OWNER)
    checkout = stack.pay(client, booking_id, OWNER, phone="0708370000")["CheckoutRequestID"]
    genuine = stack.sim.settled_callback(checkout)
    url = stack.callback_url(checkout)
    token = url.rsplit("/", 1)[1]  # the push's own token, not the shared one
    assert token != "s3cret-hook-token" and len(token) >= 32 and stack.payment(checkout)["callback_token"] == token

    bad_code = b'{"Body": {"stkCallback": {"CheckoutRequestID": "%s", "ResultCode": "zero"}}}' % checkout.encode()
    bodies = [*GARBAGE, bad_code]
    for body in bodies:
        r = stack.post_callback(url, body)
        assert r.status_code == 200, body[:40]
        assert r.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    # a genuine body on a wrong token, or on the compat path while a token is configured: ignored
    base = f"http://127.0.0.1:{client.port}/api/payments"
    for wrong in (f"{base}/hooks/stk/not-the-token", f"{base}/mpesa/callback"):
        r = stack.post_callback(wrong, genuine)
        assert r.status_code == 200 and r.json() == {"ResultCode": 0, "ResultDesc": "Success"}

    row = stack.payment(checkout)
    assert row["status"] == "pending" and row["callbacks_received"] == 0 and row["discrepancy"] is None
    assert stack.outbox("PaymentSucceeded") == [] and stack.outbox("PaymentFailed") == []

    stack.post_callback(url, genuine)  # and the real one still works afterwards
    stack.wait_event("PaymentSucceeded", booking_id)


def test_compat_callback_path_is_processed_while_no_token_is_configured(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    checkout = stack.pay(client, booking_id, OWNER, phone="0708370000")["CheckoutRequestID"]
    genuine = stack.sim.settled_callback(checkout)

    wrong = f"http://127.0.0.1:{client.port}/api/payments/hooks/stk/guess"
    assert stack.post_callback(wrong, genuine).status_code == 200
    assert stack.payment(checkout)["status"] == "pending"

    r = stack.post_callback(f"http://127.0.0.1:{client.port}/api/payments/mpesa/callback/", genuine)
    assert r.status_code == 200 and r.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    assert stack.wait_event("PaymentSucceeded", booking_id)["checkout_request_id"] == checkout


def test_success_callback_while_daraja_is_unreachable_stays_pending_until_reconciled(
    stack: Any, booking_id: int
) -> None:
    client = stack.start(payment_reconcile_after_seconds=1.5)
    stack.booking(booking_id, OWNER)
    checkout = stack.pay(client, booking_id, OWNER, phone="0708370000")["CheckoutRequestID"]
    genuine = stack.sim.settled_callback(checkout)
    url = stack.callback_url(checkout)

    stack.sim.stop()
    r = stack.post_callback(url, genuine)
    assert r.status_code == 200 and r.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    assert stack.payment(checkout)["status"] == "pending"
    assert stack.outbox("PaymentSucceeded", booking_id) == []

    stack.sim.start()
    event = stack.wait_event("PaymentSucceeded", booking_id, timeout=15)
    assert event["checkout_request_id"] == checkout
    assert stack.payment(checkout)["status"] == "success"


# --- initiate rules ---------------------------------------------------------------------------------
def test_client_amount_must_equal_the_booking_total(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER, total_price=4500)
    r = stack.initiate(client, booking_id, OWNER, amount=1)
    assert r.status_code == 400
    assert r.json()["success"] is False and r.json()["message"] == "Amount does not match the booking total"
    assert r.json()["errors"][0]["field"] == "amount"
    assert stack.initiate(client, booking_id, OWNER, amount=4500.5).status_code == 400
    assert stack.payments(booking_id) == [] and stack.sim.daraja.stats["stk_pushes"] == 0

    r = stack.initiate(client, booking_id, OWNER, amount="4500")
    assert r.status_code == 200, r.text
    assert stack.sim.transaction(r.json()["data"]["CheckoutRequestID"])["Amount"] == 4500


def test_only_the_owner_may_pay_and_see_the_status(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    for user, role in ((STRANGER, "user"), (ADMIN, "admin")):
        r = client.post(
            "/api/payments/mpesa/initiate",
            json={"booking_id": booking_id, "phone_number": "0708374149"},
            headers=stack.keys.headers(user, role),
        )
        assert r.status_code == 403 and r.json() == {"success": False, "message": "Unauthorized"}
    assert stack.payments(booking_id) == []

    stack.pay(client, booking_id, OWNER)
    assert stack.status(client, booking_id, STRANGER).status_code == 403
    assert stack.status(client, booking_id, ADMIN, role="admin").status_code == 200
    assert stack.status(client, booking_id, OWNER).status_code == 200


def test_initiate_conflicts(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    stack.pay(client, booking_id, OWNER, phone="0708371037")
    r = stack.initiate(client, booking_id, OWNER)
    assert r.status_code == 409
    assert r.json()["message"] == "A payment is already in progress for this booking"

    confirmed, cancelled, expired = booking_id + 1, booking_id + 2, booking_id + 3
    stack.booking(confirmed, OWNER)
    stack.event_bus.publish("BookingConfirmed", {"booking_id": confirmed, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": "2030-01-01", "end_date": "2030-02-01",
                                                 "total_price": 4500})
    stack.booking(cancelled, OWNER)
    stack.event_bus.publish("BookingCancelled", {"booking_id": cancelled, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": "2030-01-01", "end_date": "2030-02-01",
                                                 "reason": "user"})
    wait_for(lambda: stack.booking_row(confirmed)["status"] == "confirmed", what="BookingConfirmed")
    wait_for(lambda: stack.booking_row(cancelled)["status"] == "cancelled", what="BookingCancelled")
    for other in (confirmed, cancelled):
        r = stack.initiate(client, other, OWNER)
        assert r.status_code == 409 and r.json()["message"] == "Booking is not pending"

    stack.booking(expired, OWNER, hold_expires_at="2020-01-01T00:00:00+00:00")
    assert stack.initiate(client, expired, OWNER).status_code == 409
    assert stack.payments(confirmed) == stack.payments(cancelled) == stack.payments(expired) == []


def test_concurrent_initiates_send_one_push(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    barrier = threading.Barrier(6)
    codes: list[int] = []

    def initiate() -> None:
        barrier.wait()
        codes.append(stack.initiate(client, booking_id, OWNER, phone="0708371037").status_code)

    threads = [threading.Thread(target=initiate) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] + [409] * 5
    assert len(stack.payments(booking_id)) == 1
    assert stack.sim.daraja.stats["stk_pushes"] == 1


def test_a_late_booking_event_does_not_undo_a_cancellation(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.event_bus.publish("BookingCancelled", {"booking_id": booking_id, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": "2030-01-01", "end_date": "2030-02-01",
                                                 "reason": "expired"})
    wait_for(lambda: stack.booking_row(booking_id), what="the cancellation")
    stack.booking(booking_id, OWNER)  # BookingCreated arriving after its cancellation
    wait_for(lambda: stack.booking_row(booking_id)["total_price"] == 4500, what="BookingCreated")
    assert stack.booking_row(booking_id)["status"] == "cancelled"
    assert stack.initiate(client, booking_id, OWNER).status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"booking_id": 1, "phone_number": "12345"}, "phone_number"),
        ({"booking_id": 1, "phone_number": "0808374149"}, "phone_number"),
        ({"booking_id": "abc", "phone_number": "0708374149"}, "booking_id"),
        ({"phone_number": "0708374149"}, "booking_id"),
        ({"booking_id": 1}, "phone_number"),
        ({"booking_id": 1, "phone_number": "0708374149", "amount": True}, "amount"),
        ({"booking_id": 1, "phone_number": "0708374149", "amount": "lots"}, "amount"),
    ],
)
def test_initiate_validation(stack: Any, body: dict[str, Any], field: str) -> None:
    client = stack.start()
    r = client.post("/api/payments/mpesa/initiate", json=body, headers=stack.keys.headers(OWNER))
    assert r.status_code == 400
    assert r.json()["success"] is False and field in {e["field"] for e in r.json()["errors"]}


def test_initiate_and_status_need_a_token(stack: Any) -> None:
    client = stack.start()
    assert client.post("/api/payments/mpesa/initiate", json={"booking_id": 1, "phone_number": "0708374149"}
                       ).status_code == 401
    assert client.get("/api/payments/status/1").status_code == 401


def test_status_not_found(stack: Any, booking_id: int) -> None:
    client = stack.start()
    r = stack.status(client, booking_id, OWNER)
    assert r.status_code == 404 and r.json() == {"success": False, "message": "Payment not found"}
    stack.booking(booking_id, OWNER)
    assert stack.status(client, booking_id, OWNER).json()["message"] == "Payment not found"
    assert stack.status(client, booking_id, STRANGER).status_code == 403
    r = client.get("/api/payments/status/not-a-number", headers=stack.keys.headers(OWNER))
    assert r.status_code == 404


def test_status_shows_the_latest_payment(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    stack.pay(client, booking_id, OWNER, phone="0708371032")
    stack.wait_event("PaymentFailed", booking_id)
    second = stack.pay(client, booking_id, OWNER, phone="0708371037")
    data = stack.status(client, booking_id, OWNER).json()["data"]
    assert data["id"] == second["payment_id"] and data["status"] == "pending"


# --- Daraja refusing or down --------------------------------------------------------------------------
def test_daraja_down_gives_502_writes_nothing_and_blocks_no_retry(stack: Any, booking_id: int) -> None:
    down = stack.start(daraja_base_url="http://127.0.0.1:9", daraja_timeout_seconds=2)
    stack.booking(booking_id, OWNER)
    r = stack.initiate(down, booking_id, OWNER)
    assert r.status_code == 502
    assert r.json() == {"success": False, "message": "M-PESA is unavailable, please retry"}
    assert stack.payments(booking_id) == []
    assert stack.status(down, booking_id, OWNER).status_code == 404

    up = stack.start()  # a replica that can reach Daraja: the retry goes through
    assert stack.initiate(up, booking_id, OWNER).status_code == 200
    assert len(stack.payments(booking_id)) == 1


def test_daraja_refusal_gives_502_with_its_message(stack: Any, booking_id: int) -> None:
    client = stack.start(mpesa_passkey="not-the-passkey")
    stack.booking(booking_id, OWNER)
    r = stack.initiate(client, booking_id, OWNER)
    assert r.status_code == 502
    assert r.json()["message"] == "M-PESA refused the payment request: Wrong credentials"
    assert stack.payments(booking_id) == []


def test_daraja_that_never_answers_the_token_times_out_cleanly_and_blocks_no_retry(
    stack: Any, booking_id: int
) -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections, never answers
    try:
        client = stack.start(daraja_base_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
                             daraja_timeout_seconds=0.5)
        stack.booking(booking_id, OWNER)
        started = time.monotonic()
        r = stack.initiate(client, booking_id, OWNER)
        assert time.monotonic() - started < 5
        # only the OAuth token was asked for, and it never came: no push can have gone out, so nothing is kept that
        # would block the booking (a kept push without a CheckoutRequestID is never settled by a query)
        assert r.status_code == 502, r.text
        assert r.json()["message"] == "M-PESA is unavailable, please retry"
        assert stack.payments(booking_id) == []
        again = stack.initiate(client, booking_id, OWNER)
        assert again.status_code == 502, again.text  # tried again, not refused as in progress
        assert stack.payments(booking_id) == []
    finally:
        silent.close()


# --- the booking copy ---------------------------------------------------------------------------------
def test_unknown_booking_is_fetched_from_the_booking_service(stack: Any, booking_id: int) -> None:
    """The documented internal endpoint (docs/integration.md), served by a stand-in for this one test."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from jeshstack.procs import free_port
    from jeshstack.pytest_plugin import LiveServer

    peer = FastAPI()
    calls: list[int] = []

    @peer.get("/internal/bookings/{requested}")
    def internal_booking(requested: int) -> JSONResponse:
        calls.append(requested)
        if requested != booking_id:
            return JSONResponse({"success": False, "message": "Not found"}, status_code=404)
        return JSONResponse({"data": {
            "booking_id": booking_id, "user_id": OWNER, "unit_id": 3, "start_date": "2030-01-01",
            "end_date": "2030-01-31", "total_price": 3000, "status": "pending", "payment_status": "pending",
            "hold_expires_at": None,
        }})

    server = LiveServer(peer, free_port())
    try:
        client = stack.start(booking_url=f"http://127.0.0.1:{server.port}")
        r = stack.initiate(client, booking_id, OWNER)
        assert r.status_code == 200, r.text
        assert stack.sim.transaction(r.json()["data"]["CheckoutRequestID"])["Amount"] == 3000
        assert stack.booking_row(booking_id)["user_id"] == OWNER

        r = stack.initiate(client, booking_id + 1, OWNER)
        assert r.status_code == 404 and r.json()["message"] == "Booking not found"
    finally:
        server.stop()

    # a later BookingCreated fills the copy in without changing what is known
    stack.booking(booking_id, OWNER, total_price=3000)
    assert stack.booking_row(booking_id)["total_price"] == 3000


def test_booking_service_down_gives_503(stack: Any, booking_id: int) -> None:
    client = stack.start()
    r = stack.initiate(client, booking_id, OWNER)
    assert r.status_code == 503 and r.json()["success"] is False


def test_buy_goods_pushes_pay_the_configured_till(stack: Any, booking_id: int) -> None:
    client = stack.start(mpesa_transaction_type="CustomerBuyGoodsOnline", mpesa_party_b="600100")
    stack.booking(booking_id, OWNER)
    checkout = stack.pay(client, booking_id, OWNER)["CheckoutRequestID"]
    pushed = stack.sim.transaction(checkout)
    assert pushed["TransactionType"] == "CustomerBuyGoodsOnline" and pushed["PartyB"] == "600100"
    assert stack.wait_event("PaymentSucceeded", booking_id)["checkout_request_id"] == checkout


def test_replicas_share_one_daraja_token_instead_of_revoking_each_others(stack: Any) -> None:
    # Daraja (and the simulator) revoke an app's token when another is issued: replicas that each fetched
    # their own would keep refusing each other's, and a push could fail twice in a row (502).
    first, second = stack.start(), stack.start()
    bookings = [uuid.uuid4().int % 1_000_000 + 1 for _ in range(6)]
    for booking_id in bookings:
        stack.booking(booking_id, OWNER, total_price=1500)
    for i, booking_id in enumerate(bookings):
        replica = first if i % 2 == 0 else second
        r = stack.initiate(replica, booking_id, OWNER)
        assert r.status_code == 200, r.text
    assert stack.sim.client.get("/simulator/stats").json()["tokens_issued"] == 1
