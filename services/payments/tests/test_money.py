"""Money is never lost: pushes whose answer comes late, unsettled payments, holds, refunds, unmatched money,
invoice payments. Real PostgreSQL and NATS, the Daraja simulator over HTTP (a delaying proxy in front of it)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import text

from daraja_sim.proxy import delaying_proxy
from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import metric, wait_for

OWNER = 11
STRANGER = 12
ADMIN = 1
STK_PUSH = "/mpesa/stkpush/v1/processrequest"
STK_QUERY = "/mpesa/stkpushquery/v1/query"


@pytest.fixture
def slow_daraja(sim: Any) -> Iterator[LiveServer]:
    """The simulator behind a proxy that holds its accepted STK Push answers 2 s."""
    server = LiveServer(delaying_proxy(sim.url, {STK_PUSH: 2.0}), free_port())
    yield server
    server.stop()



# --- 1. a push Daraja accepted is never forgotten ------------------------------------------------------


def attention(stack: Any, client: Any) -> dict[str, dict[str, Any]]:
    """The console's money waiting for a person, by kind (GET /api/payments/admin/attention)."""
    return {w["what"]: w for w in stack.admin_get(client, "/api/payments/admin/attention")}


def test_a_push_answered_after_the_timeout_is_settled_by_its_callback_and_never_sent_twice(
    stack: Any, slow_daraja: LiveServer, booking_id: int
) -> None:
    client = stack.start(daraja_base_url=f"http://127.0.0.1:{slow_daraja.port}", daraja_timeout_seconds=1.0)
    stack.booking(booking_id, OWNER, total_price=3000)

    r = stack.initiate(client, booking_id, OWNER)
    assert r.status_code == 502, r.text
    assert r.json()["message"].startswith("M-PESA did not confirm the payment request in time")
    [row] = stack.payments(booking_id)
    assert row["status"] in ("pending", "success") and row["callback_token"]  # recorded before Daraja was asked

    retry = stack.initiate(client, booking_id, OWNER)  # the customer tries again: refused, not charged twice
    assert retry.status_code == 409
    assert retry.json()["message"] in ("A payment is already in progress for this booking", "Booking is already paid")

    # The callback came on the push's own URL before its answer: matched by its token, confirmed by the query.
    event = stack.wait_event("PaymentSucceeded", booking_id)
    assert event["payment_id"] == row["id"] and event["amount"] == 3000
    [transaction] = [t for t in stack.sim.daraja.all() if t.account_reference == f"JESH-{booking_id}"]
    assert event["checkout_request_id"] == transaction.checkout_request_id
    assert event["receipt"] == transaction.receipt
    assert stack.sim.daraja.stats["stk_pushes"] == 1
    assert stack.status(client, booking_id, OWNER).json()["data"]["status"] == "success"


def test_daraja_s_callback_is_answered_quickly_while_the_query_that_confirms_it_is_slow(
    stack: Any, sim: Any, booking_id: int
) -> None:
    # STK Push Query answers after 3 s: Daraja still gets its 200 within callback_answer_seconds, and the success is
    # applied once the query has confirmed it. Before, the answer waited for the query (up to DARAJA_TIMEOUT_SECONDS).
    proxy = LiveServer(delaying_proxy(sim.url, {STK_QUERY: 3.0}), free_port())
    try:
        client = stack.start(daraja_base_url=f"http://127.0.0.1:{proxy.port}", callback_answer_seconds=0.5)
        stack.booking(booking_id, OWNER, total_price=3000)
        started = stack.pay(client, booking_id, OWNER, phone="0708370000")  # the simulator sends no callback
        body = stack.sim.settled_callback(started["CheckoutRequestID"])

        sent = time.monotonic()
        answer = stack.post_callback(stack.callback_url(started["CheckoutRequestID"]), body)
        answered_in = time.monotonic() - sent
        assert answer.status_code == 200 and answer.json() == {"ResultCode": 0, "ResultDesc": "Success"}
        assert answered_in < 2.0, answered_in
        assert stack.payments(booking_id)[0]["status"] == "pending"  # not trusted before the query agrees

        event = stack.wait_event("PaymentSucceeded", booking_id)
        assert (event["payment_id"], event["amount"]) == (started["payment_id"], 3000)
        assert stack.payments(booking_id)[0]["callbacks_received"] == 1
    finally:
        proxy.stop()


def test_a_callback_before_the_answer_on_the_compat_path_is_kept_and_applied(
    stack: Any, slow_daraja: LiveServer, booking_id: int
) -> None:
    # The simulator posts to the push's URL; here the same callback also comes on the compat path first.
    client = stack.start(daraja_base_url=f"http://127.0.0.1:{slow_daraja.port}", daraja_timeout_seconds=5.0)
    stack.booking(booking_id, OWNER)
    import threading

    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(stack.initiate(client, booking_id, OWNER, "0708370000")))
    thread.start()
    transaction = wait_for(
        lambda: next((t for t in stack.sim.daraja.all() if t.account_reference == f"JESH-{booking_id}"), None),
        what="the push to reach the simulator",
    )
    body = stack.sim.settled_callback(transaction.checkout_request_id)
    r = stack.post_callback(f"http://127.0.0.1:{client.port}/api/payments/mpesa/callback", body)
    assert r.status_code == 200
    unmatched = stack.admin_get(client, "/api/payments/unmatched")
    assert [u["reference"] for u in unmatched] == [transaction.checkout_request_id]  # kept, not dropped
    thread.join()
    assert answers[0].status_code == 200, answers[0].text
    event = stack.wait_event("PaymentSucceeded", booking_id)
    assert event["receipt"] == transaction.receipt  # the early callback's receipt, applied once known
    assert stack.admin_get(client, "/api/payments/unmatched") == []
    # Applied, it is no money to pay back (before: a refund was raised for money that had confirmed the booking).
    with stack.db.connect() as conn:
        kept = conn.execute(text("SELECT id FROM unmatched WHERE reference = :r"),
                            {"r": transaction.checkout_request_id}).scalar_one()
    r = client.post(f"/api/payments/unmatched/{kept}/refund", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 409 and r.json()["message"] == "This money was applied to its payment"
    assert refunds(stack, client) == []


# --- 2. no outside call with a connection held ---------------------------------------------------------
def test_one_pooled_connection_is_enough_to_pay(stack: Any, booking_id: int) -> None:
    # Before: the booking row stayed locked while Daraja was called, and the shared OAuth token took a
    # second connection: with a pool of one, the push waited for the pool and failed.
    client = stack.start(db_pool_size=1, db_max_overflow=0)
    stack.booking(booking_id, OWNER)
    r = stack.initiate(client, booking_id, OWNER)
    assert r.status_code == 200, r.text
    stack.wait_event("PaymentSucceeded", booking_id)
    # and a refund, paid by B2C, the same way
    stack.event_bus.publish("BookingCancelled", {"booking_id": booking_id, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": "2030-01-01", "end_date": "2030-02-01",
                                                 "reason": "admin"})
    [refund] = wait_for(lambda: stack.admin_get(client, "/api/payments/refunds"), what="the refund")
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200, r.text
    stack.wait_event("RefundPaid", booking_id)


# --- 3. the hold and the prompt --------------------------------------------------------------------------
def test_a_push_is_refused_when_too_little_hold_is_left(stack: Any, booking_id: int) -> None:
    client = stack.start(payment_min_hold_seconds=60)
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    stack.booking(booking_id, OWNER, hold_expires_at=soon)
    r = stack.initiate(client, booking_id, OWNER)
    assert r.status_code == 409
    assert r.json()["message"].startswith("Too little time is left on this booking's hold")
    assert stack.payments(booking_id) == [] and stack.sim.daraja.stats["stk_pushes"] == 0

    later = booking_id + 1
    stack.booking(later, OWNER, hold_expires_at=(datetime.now(UTC) + timedelta(seconds=300)).isoformat())
    assert stack.initiate(client, later, OWNER).status_code == 200


# --- 4. every payment reaches a final state --------------------------------------------------------------
def test_a_payment_daraja_never_settles_is_parked_unknown_for_an_admin_and_blocks_a_second_push(
    stack: Any, booking_id: int
) -> None:
    client = stack.start(payment_reconcile_after_seconds=0.1, reconcile_interval_seconds=0.1,
                         payment_reconcile_max_attempts=3)
    stack.booking(booking_id, OWNER)
    started = stack.pay(client, booking_id, OWNER, phone="0708370000")  # no callback ever
    stack.sim.stop()  # and Daraja never answers a query again
    try:
        wait_for(lambda: stack.payments(booking_id)[0]["status"] == "unknown", timeout=20, what="unknown")
        [row] = stack.payments(booking_id)
        assert row["check_attempts"] == 3 and "parked as unknown" in row["discrepancy"]
        listed = stack.admin_get(client, "/api/payments?status=unknown")
        assert [p["id"] for p in listed] == [started["payment_id"]]
        assert client.get("/api/payments", headers=stack.keys.headers(OWNER)).status_code == 403
        r = stack.initiate(client, booking_id, OWNER)
        assert r.status_code == 409  # Daraja never said it failed: no second push
        assert stack.status(client, booking_id, OWNER).json()["data"]["status"] == "pending"
        assert stack.outbox("PaymentFailed", booking_id) == [] and stack.outbox("PaymentSucceeded", booking_id) == []
        assert metric(client, "jesh_payments_outcome_unknown") == 1  # the alert PaymentOutcomeUnknown
        unknown = attention(stack, client)["payments_unknown"]
        assert (unknown["count"], unknown["kes"]) == (1, 4500) and unknown["oldest_at"] is not None
        assert metric(client, "jesh_payments_outcome_unknown_oldest_age_seconds") > 0
    finally:
        stack.sim.start()


@pytest.mark.parametrize(("result_code", "settled"), [(0, "success"), (1032, "failed")])
def test_an_admin_requeries_an_unknown_payment_and_daraja_s_final_word_settles_it(
    stack: Any, booking_id: int, result_code: int, settled: str
) -> None:
    client = stack.start(payment_reconcile_after_seconds=0.1, reconcile_interval_seconds=0.1,
                         payment_reconcile_max_attempts=2)
    stack.booking(booking_id, OWNER)
    phone = "254708375555"
    stack.sim.daraja.hold_phone(phone)  # no callback, and the query says "still processing"
    try:
        payment_id = stack.pay(client, booking_id, OWNER, phone=phone)["payment_id"]
        wait_for(lambda: stack.payments(booking_id)[0]["status"] == "unknown", timeout=20, what="unknown")
        admin = stack.keys.headers(ADMIN, "admin")
        requery = f"/api/payments/admin/unknown/{payment_id}/requery"
        assert client.post(requery, headers=stack.keys.headers(OWNER)).status_code == 403
        assert client.post("/api/payments/admin/unknown/999999/requery", headers=admin).status_code == 404
        r = client.post(requery, headers=admin)  # still processing: it stays unknown
        assert r.status_code == 200, r.text
        assert r.json()["data"]["status"] == "unknown" and r.json()["data"]["id"] == payment_id
        assert stack.initiate(client, booking_id, OWNER).status_code == 409
    finally:
        stack.sim.daraja.release_phone(phone, result_code)
    r = client.post(requery, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == settled
    event = stack.wait_event("PaymentSucceeded" if settled == "success" else "PaymentFailed", booking_id)
    assert event["payment_id"] == payment_id
    again = client.post(requery, headers=admin)
    assert again.status_code == 409 and again.json()["message"] == f"Payment is {settled}, not unknown"
    logged = [(e["action"], e["target"], e["details"]) for e in stack.admin_get(client, "/api/payments/admin/audit")]
    assert logged == [("payment.requeried", f"payment:{payment_id}", {"status": settled}),
                      ("payment.requeried", f"payment:{payment_id}", {"status": "unknown"})]  # newest first
    # only Daraja's "failed" frees the booking for a new push
    assert stack.initiate(client, booking_id, OWNER).status_code == (200 if settled == "failed" else 409)


def test_a_failure_callback_the_query_cannot_confirm_is_checked_again_later(stack: Any, booking_id: int) -> None:
    client = stack.start(payment_reconcile_after_seconds=3600, reconcile_interval_seconds=0.2)
    stack.booking(booking_id, OWNER)
    checkout = stack.pay(client, booking_id, OWNER, phone="0708371037")["CheckoutRequestID"]  # slow callback
    url = stack.callback_url(checkout)
    stack.sim.stop()  # before it calls back; Daraja cannot be asked either
    try:
        failure = stack.sim.settled_callback(checkout)
        assert stack.post_callback(url, failure).status_code == 200
        # Before: a failure was trusted at once. Now it stays pending until Daraja's query agrees.
        row = stack.payment(checkout)
        assert row["status"] == "pending" and row["reported_result_code"] == 1037
        assert stack.outbox("PaymentFailed", booking_id) == []
        assert stack.initiate(client, booking_id, OWNER).status_code == 409
    finally:
        stack.sim.start()
    event = stack.wait_event("PaymentFailed", booking_id, timeout=15)
    assert event["result_code"] == 1037


def test_a_success_daraja_confirms_after_the_payment_was_failed_is_applied_not_dropped(
    stack: Any, booking_id: int
) -> None:
    # Daraja's query said 1037 (the phone unreachable), the payment was failed; then the payer's success came on the
    # push's own URL, right amount, and the query now says 0. Before: dropped (the payment was no longer unsettled):
    # no PaymentSucceeded, nothing flagged or kept, the customer charged and told it failed.
    client = stack.start(payment_reconcile_after_seconds=0.1, reconcile_interval_seconds=0.1)
    stack.booking(booking_id, OWNER)
    phone = "254708376666"
    stack.sim.daraja.hold_phone(phone)
    checkout = stack.pay(client, booking_id, OWNER, phone=phone)["CheckoutRequestID"]
    stack.sim.daraja.release_phone(phone, 1037)
    failed = stack.wait_event("PaymentFailed", booking_id, timeout=15)
    transaction = stack.sim.daraja.get(checkout)
    transaction.result_code, transaction.receipt = 0, "NLJ7RT6666"  # M-PESA's last word
    assert stack.post_callback(stack.callback_url(checkout), transaction.callback_body()).status_code == 200
    event = stack.wait_event("PaymentSucceeded", booking_id)
    assert event["payment_id"] == failed["payment_id"] and event["receipt"] == "NLJ7RT6666"
    assert stack.payment(checkout)["status"] == "success"
    assert stack.status(client, booking_id, OWNER).json()["data"]["status"] == "success"


def test_booking_confirmed_again_after_its_expiry_is_followed(stack: Any, booking_id: int) -> None:
    stack.start()
    stack.booking(booking_id, OWNER)
    facts = {"booking_id": booking_id, "user_id": OWNER, "unit_id": 7, "start_date": "2030-01-01",
             "end_date": "2030-02-01"}
    stack.event_bus.publish("BookingCancelled", {**facts, "reason": "expired"})
    wait_for(lambda: stack.booking_row(booking_id)["status"] == "cancelled", what="the expiry")
    stack.event_bus.publish("BookingConfirmed", {**facts, "total_price": 4500})  # a late payment re-confirmed it
    wait_for(lambda: stack.booking_row(booking_id)["status"] == "confirmed", what="the re-confirmation")
# --- 5. refunds and unmatched money ----------------------------------------------------------------------
def paid_booking(stack: Any, client: Any, booking_id: int, phone: str = "0708374149", **extra: Any) -> dict[str, Any]:
    stack.booking(booking_id, OWNER, **extra)
    started = stack.pay(client, booking_id, OWNER, phone=phone)
    stack.wait_event("PaymentSucceeded", booking_id)
    return started


def cancel(stack: Any, booking_id: int, reason: str, start_date: str = "2030-01-01") -> None:
    stack.event_bus.publish("BookingCancelled", {"booking_id": booking_id, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": start_date, "end_date": "2030-02-01",
                                                 "reason": reason})


def refunds(stack: Any, client: Any, status: str | None = None) -> list[dict[str, Any]]:
    return stack.admin_get(client, "/api/payments/refunds" + (f"?status={status}" if status else ""))


def test_an_admin_cancellation_of_a_paid_booking_is_refunded_in_full_by_b2c(stack: Any, booking_id: int) -> None:
    client = stack.start(cancellation_fee_kes=500)
    started = paid_booking(stack, client, booking_id)
    cancel(stack, booking_id, "admin")
    [refund] = wait_for(lambda: refunds(stack, client), what="the refund")
    assert refund["status"] == "required" and refund["amount"] == 4500 and refund["booking_id"] == booking_id
    assert refund["phone_number"] == "254708374149" and refund["user_id"] == OWNER

    assert client.post(f"/api/payments/refunds/{refund['id']}/approve",
                       headers=stack.keys.headers(OWNER)).status_code == 403
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] in ("paying", "paid")
    again = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert again.status_code == 409

    event = stack.wait_event("RefundPaid", booking_id)
    [payout] = stack.sim.daraja.payouts.all()
    assert event == {"refund_id": refund["id"], "booking_id": booking_id, "invoice_id": None,
                     "payment_id": started["payment_id"], "user_id": OWNER, "amount": 4500, "method": "mpesa",
                     "receipt": payout.receipt}
    assert payout.amount == 4500 and payout.phone == "254708374149"
    status = stack.status(client, booking_id, OWNER).json()["data"]
    assert status["id"] == started["payment_id"] and status["refund"]["status"] == "paid"
    assert status["refund"]["receipt"] == payout.receipt
    assert client.post("/api/payments/refunds/999999/approve",
                       headers=stack.keys.headers(ADMIN, "admin")).status_code == 404


def test_a_payout_whose_result_never_comes_is_confirmed_by_transaction_status_not_sent_again(
    stack: Any, booking_id: int
) -> None:
    client = stack.start(refund_result_wait_seconds=0.5)
    paid_booking(stack, client, booking_id, phone="0708379997")  # M-PESA pays this phone but its result is lost
    cancel(stack, booking_id, "admin")
    [refund] = wait_for(lambda: refunds(stack, client), what="the refund")
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200 and r.json()["data"]["status"] == "paying", r.text

    event = stack.wait_event("RefundPaid", booking_id, timeout=15)
    [payout] = stack.sim.daraja.payouts.all()
    assert payout.result_lost and payout.deliveries == []
    assert event["receipt"] == payout.receipt and event["amount"] == 4500
    assert stack.sim.daraja.stats["status_queries"] >= 1
    assert stack.sim.daraja.stats["b2c_requests"] == 1  # asked about, never sent again
    assert stack.sim.daraja.payouts.paid_total == 4500
    [paid] = refunds(stack, client, "paid")
    assert paid["receipt"] == payout.receipt


def test_an_owner_cancellation_before_the_start_keeps_the_fee_and_a_failed_payout_can_be_approved_again(
    stack: Any, booking_id: int
) -> None:
    client = stack.start(cancellation_fee_kes=500)
    paid_booking(stack, client, booking_id, phone="0708379999")  # B2C to a phone ending 9999 fails
    cancel(stack, booking_id, "user")
    [refund] = wait_for(lambda: refunds(stack, client), what="the refund")
    assert refund["amount"] == 4000 and refund["status"] == "required"
    assert metric(client, 'jesh_refunds_open{status="required"}') == 1
    assert metric(client, 'jesh_refunds_open{status="failed"}') == 0

    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200, r.text
    event = stack.wait_event("RefundFailed", booking_id)
    assert event["refund_id"] == refund["id"] and event["reason"].startswith("Credit Party customer type")
    [failed] = refunds(stack, client, "failed")
    assert failed["failure_reason"] == event["reason"]
    assert metric(client, 'jesh_refunds_open{status="failed"}') == 1  # the alert RefundFailed
    waiting = attention(stack, client)
    assert (waiting["refunds_failed"]["count"], waiting["refunds_failed"]["kes"]) == (1, 4000)
    assert waiting["refunds_required"] == {"what": "refunds_required", "count": 0, "kes": 0, "oldest_at": None}
    assert metric(client, 'jesh_refunds_open{status="required"}') == 0

    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200  # approved again: a new payout (the first one paid nothing)
    wait_for(lambda: len(stack.sim.daraja.payouts.all()) == 2, what="the second payout")
    first, second = stack.sim.daraja.payouts.all()
    assert first.originator_conversation_id != second.originator_conversation_id
    assert stack.sim.daraja.payouts.paid_total == 0


def test_no_refund_for_an_expiry_or_an_owner_cancelling_on_the_start_day(stack: Any, booking_id: int) -> None:
    client = stack.start()
    paid_booking(stack, client, booking_id)
    today = (datetime.now(UTC) + timedelta(hours=3)).date().isoformat()
    cancel(stack, booking_id, "user", start_date=today)
    expired = booking_id + 1
    stack.booking(expired, OWNER)
    cancel(stack, expired, "expired")
    wait_for(lambda: stack.booking_row(booking_id)["status"] == "cancelled", what="the cancellation")
    wait_for(lambda: stack.booking_row(expired)["status"] == "cancelled", what="the expiry")
    assert refunds(stack, client) == []


def test_a_payout_sent_twice_with_the_same_originator_id_pays_once(stack: Any, booking_id: int) -> None:
    client = stack.start()
    paid_booking(stack, client, booking_id, phone="0708379998")  # its payout times out in M-PESA's queue
    cancel(stack, booking_id, "admin")
    [refund] = wait_for(lambda: refunds(stack, client), what="the refund")
    client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    # the queue timeout puts it back to approved; the job re-sends it with the same OriginatorConversationID
    wait_for(lambda: stack.sim.daraja.stats["b2c_requests"] >= 2, timeout=60, what="the re-send")
    assert len(stack.sim.daraja.payouts.all()) == 1


def test_a_resent_payout_m_pesa_refuses_keeps_its_originator_id(stack: Any, booking_id: int) -> None:
    """The first request's answer never came (it may have paid); the re-send is refused. Approved again, the payout
    goes out with the same OriginatorConversationID (which M-PESA never pays twice), never a new one."""
    b2c_path = "/mpesa/b2c/v3/paymentrequest"
    sent: list[str] = []
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def forward(path: str, request: Request) -> Response:
        body = await request.body()
        if "/" + path == b2c_path and len(sent) == 1:  # the re-send: refused
            sent.append(json.loads(body)["OriginatorConversationID"])
            return Response('{"requestId": "r", "errorCode": "500.002.1001", "errorMessage": "Service is '
                            'currently unreachable"}', status_code=500, media_type="application/json")
        async with httpx.AsyncClient(base_url=stack.sim.url) as http:
            answer = await http.request(request.method, "/" + path, params=request.query_params, content=body,
                                        headers={"Authorization": request.headers.get("authorization", ""),
                                                 "Content-Type": "application/json"})
        if "/" + path == b2c_path:
            sent.append(json.loads(body)["OriginatorConversationID"])
            if len(sent) == 1:
                await asyncio.sleep(2)  # M-PESA took it; its answer comes too late
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")

    proxy = LiveServer(app, free_port())
    try:
        client = stack.start(daraja_base_url=f"http://127.0.0.1:{proxy.port}", daraja_timeout_seconds=0.5,
                             reconcile_interval_seconds=0.2, refund_result_wait_seconds=3600)
        paid_booking(stack, client, booking_id, phone="0708379997")  # M-PESA pays its payout, loses the result
        cancel(stack, booking_id, "admin")
        [refund] = wait_for(lambda: refunds(stack, client), what="the refund")
        admin = stack.keys.headers(ADMIN, "admin")
        assert client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=admin).status_code == 200
        with stack.db.begin() as conn:  # unsure: re-sent by the money job (after 30 s idle: now)
            conn.execute(text("UPDATE refunds SET updated_at = now() - interval '1 minute' WHERE id = :id"),
                         {"id": refund["id"]})
        failed = wait_for(lambda: refunds(stack, client, "failed"), timeout=30, what="the refused re-send")
        assert len(sent) == 2 and sent[0] == sent[1]
        with stack.db.connect() as conn:
            kept = conn.execute(text("SELECT originator_conversation_id FROM refunds WHERE id = :id"),
                                {"id": failed[0]["id"]}).scalar_one()
        assert kept == sent[0]  # not renewed: the first request may have paid
        assert client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=admin).status_code == 200
        wait_for(lambda: len(sent) >= 3, timeout=30, what="the payout sent again")
        assert sent[2] == sent[0]
        assert len(stack.sim.daraja.payouts.all()) == 1  # paid once
    finally:
        proxy.stop()


def test_money_for_a_booking_that_could_not_take_it_is_unmatched_and_refunded(stack: Any, booking_id: int) -> None:
    client = stack.start()
    started = paid_booking(stack, client, booking_id)
    stack.event_bus.publish("RefundRequired", {"booking_id": booking_id, "user_id": OWNER, "unit_id": 7,
                                               "amount": 4500, "payment_id": started["payment_id"],
                                               "receipt": None, "reason": "dates_taken"})
    [refund] = wait_for(lambda: refunds(stack, client), what="the refund")
    assert refund["amount"] == 4500 and refund["reason"] == "dates_taken"
    [money] = stack.admin_get(client, "/api/payments/unmatched")
    assert money["source"] == "booking_unavailable" and money["refund_id"] == refund["id"]
    assert money["payment_id"] == started["payment_id"] and money["amount"] == 4500


def test_a_callback_for_an_unknown_checkout_request_is_kept_as_unmatched_once(stack: Any) -> None:
    client = stack.start()
    body = {"Body": {"stkCallback": {"MerchantRequestID": "1-2-3", "CheckoutRequestID": "ws_CO_nobody",
                                     "ResultCode": 0, "ResultDesc": "ok", "CallbackMetadata": {"Item": [
                                         {"Name": "Amount", "Value": 700.0},
                                         {"Name": "MpesaReceiptNumber", "Value": "QWE123RTY9"},
                                         {"Name": "PhoneNumber", "Value": 254708374149}]}}}}
    for _ in range(2):
        r = stack.post_callback(f"http://127.0.0.1:{client.port}/api/payments/mpesa/callback", body)
        assert r.status_code == 200
    [money] = stack.admin_get(client, "/api/payments/unmatched")
    assert money["reference"] == "ws_CO_nobody" and money["amount"] == 700 and money["receipt"] == "QWE123RTY9"
    assert money["phone_number"] == "254708374149" and money["refund_id"] is None
    assert client.get("/api/payments/unmatched", headers=stack.keys.headers(OWNER)).status_code == 403
    # Waiting for an operator (the alert UnmatchedMoneyWaiting); a failed callback's is not money.
    failed = {"Body": {"stkCallback": {"MerchantRequestID": "1-2-4", "CheckoutRequestID": "ws_CO_nobody_else",
                                       "ResultCode": 1032, "ResultDesc": "Request cancelled by user"}}}
    assert stack.post_callback(f"http://127.0.0.1:{client.port}/api/payments/mpesa/callback", failed).status_code == 200
    assert len(stack.admin_get(client, "/api/payments/unmatched")) == 2
    waiting = metric(client, "jesh_unmatched_money_waiting"), metric(client, "jesh_unmatched_money_waiting_kes")
    assert waiting == (1, 700)
    listed = stack.admin_get(client, "/api/payments/admin/attention")
    assert [w["what"] for w in listed] == ["unmatched", "payments_unknown", "refunds_required", "refunds_approved",
                                          "refunds_paying", "refunds_failed", "paybill_unverified"]
    assert (listed[0]["count"], listed[0]["kes"]) == (1, 700) and all(w["count"] == 0 for w in listed[1:])
    assert client.get("/api/payments/admin/attention", headers=stack.keys.headers(OWNER)).status_code == 403
    assert metric(client, "jesh_unmatched_money_oldest_age_seconds") >= 0


def test_a_callback_amount_that_is_no_money_is_kept_without_an_amount(stack: Any) -> None:
    # Before: -700 was kept as an amount (the waiting shillings the alert and the Money page add up fell by 700,
    # and a refund of it would break the refunds' amount_positive check); 10.5 was kept as 10.
    client = stack.start()
    compat = f"http://127.0.0.1:{client.port}/api/payments/mpesa/callback"
    for n, amount in enumerate((-700, 10.5, 0, "1E+100000")):
        items = [{"Name": "Amount", "Value": amount}, {"Name": "PhoneNumber", "Value": 254708374149}]
        body = {"Body": {"stkCallback": {"CheckoutRequestID": f"ws_CO_odd{n}", "ResultCode": 0, "ResultDesc": "ok",
                                         "CallbackMetadata": {"Item": items}}}}
        assert stack.post_callback(compat, body).status_code == 200
    kept = stack.admin_get(client, "/api/payments/unmatched")
    assert sorted(u["reference"] for u in kept) == [f"ws_CO_odd{n}" for n in range(4)]  # kept: never dropped
    assert [u["amount"] for u in kept] == [None] * 4
    assert metric(client, "jesh_unmatched_money_waiting_kes") == 0
    r = client.post(f"/api/payments/unmatched/{kept[0]['id']}/refund", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 409 and r.json()["message"] == "Only a success callback with an amount can be refunded"


# --- 6. invoices ------------------------------------------------------------------------------------------
def test_a_payment_billing_applies_while_it_answers_is_not_charged_again(
    stack: Any, billing: dict[str, Any]
) -> None:
    """The race of 'paid a moment ago': billing answers the balance as it was, then applies the payment (and payments
    hears RentPaymentApplied) before payments looks at what billing has not applied yet. Read in that order, the
    money is in neither figure and a second push goes out; the unapplied money is read before billing is asked."""
    client = stack.start(billing_url=billing["url"])
    billing["invoices"][601] = {"id": 601, "number": "INV-000601", "booking_id": 78, "user_id": OWNER,
                                "total": 3000, "balance": 3000, "status": "open"}
    headers = stack.keys.headers(OWNER)
    first = client.post("/api/invoices/601/pay", json={"phone_number": "0708374149"}, headers=headers)
    assert first.status_code == 200, first.text
    event = stack.wait_event("PaymentSucceeded", 78)

    def billing_applies_it_meanwhile(invoice_id: int) -> None:
        billing["after_answer"] = None
        stack.event_bus.publish("RentPaymentApplied", {
            "payment_id": event["payment_id"], "booking_id": 78, "user_id": OWNER, "amount": 3000, "method": "mpesa",
            "receipt": event["receipt"], "invoices": [{"invoice_id": 601, "number": "INV-000601", "amount": 3000}],
            "balance": 0, "credit": 0, "refund": 0}, source="billing")
        wait_for(lambda: stack.payments(78)[0]["billing_applied_at"] is not None, what="RentPaymentApplied followed")

    billing["after_answer"] = billing_applies_it_meanwhile  # the answer says 3000 open; then it is applied
    pushes = stack.sim.daraja.stats["stk_pushes"]
    again = client.post("/api/invoices/601/pay", json={"phone_number": "0708374149"}, headers=headers)
    assert again.status_code == 409 and again.json()["message"] == "Invoice is already paid", again.text
    assert stack.sim.daraja.stats["stk_pushes"] == pushes and len(stack.payments(78)) == 1


def test_an_invoice_is_paid_by_its_balance_by_either_route(stack: Any, billing: dict[str, Any]) -> None:
    client = stack.start(billing_url=billing["url"])
    billing["invoices"][501] = {"id": 501, "number": "INV-000501", "booking_id": 77, "user_id": OWNER,
                                "total": 3500, "balance": 3000, "status": "open"}
    billing["invoices"][502] = {"id": 502, "number": "INV-000502", "booking_id": 77, "user_id": OWNER,
                                "total": 3500, "balance": 0, "status": "paid"}
    headers = stack.keys.headers(OWNER)
    # An amount given is checked as a booking's is (it was ignored): the client would think it paid 3500.
    wrong = client.post("/api/payments/mpesa/initiate", json={"invoice_id": 501, "phone_number": "0708374149",
                                                              "amount": 3500}, headers=headers)
    assert wrong.status_code == 400 and wrong.json()["message"] == "Amount does not match the invoice balance"
    assert wrong.json()["errors"] == [{"field": "amount", "message": "must be the invoice's balance (3000)"}]
    assert stack.sim.daraja.stats["stk_pushes"] == 0  # nothing asked of the customer
    r = client.post("/api/payments/mpesa/initiate", json={"invoice_id": 501, "phone_number": "0708374149",
                                                          "amount": 3000}, headers=headers)
    assert r.status_code == 200, r.text
    pushed = stack.sim.transaction(r.json()["data"]["CheckoutRequestID"])
    assert pushed["Amount"] == 3000 and pushed["AccountReference"] == "INV-000501"
    busy = client.post("/api/invoices/501/pay", json={"phone_number": "0708374149"}, headers=headers)
    assert busy.status_code == 409 and busy.json()["message"] == "A payment is already in progress for this invoice"

    event = stack.wait_event("PaymentSucceeded", 77)
    assert event["invoice_id"] == 501 and event["amount"] == 3000 and event["method"] == "mpesa"

    # Paid, but billing has not applied it yet: the balance it answers does not count those 3000, and a push for
    # it would charge the customer a second time (both routes, and a card order too).
    pushes = stack.sim.daraja.stats["stk_pushes"]
    for path, body in (("/api/invoices/501/pay", {"phone_number": "0708374149"}),
                       ("/api/payments/mpesa/initiate", {"invoice_id": 501, "phone_number": "0708374149"})):
        again = client.post(path, json=body, headers=headers)
        assert again.status_code == 409 and again.json()["message"] == "Invoice is already paid", again.text
    billing["invoices"][501]["balance"] = 3500  # a late fee came meanwhile: more is owed than that payment pays
    again = client.post("/api/invoices/501/pay", json={"phone_number": "0708374149"}, headers=headers)
    assert again.status_code == 409, again.text
    assert again.json()["message"] == (
        "A payment of this invoice is still being recorded; check the invoice again in a moment")
    assert stack.sim.daraja.stats["stk_pushes"] == pushes and len(stack.payments(77)) == 1  # nothing sent, nothing kept

    stack.event_bus.publish("RentPaymentApplied", {  # billing applied it; the rest is still open
        "payment_id": event["payment_id"], "booking_id": 77, "user_id": OWNER, "amount": 3000, "method": "mpesa",
        "receipt": event["receipt"], "invoices": [{"invoice_id": 501, "number": "INV-000501", "amount": 3000}],
        "balance": 500, "credit": 0, "refund": 0}, source="billing")
    wait_for(lambda: stack.payments(77)[0]["billing_applied_at"] is not None, what="RentPaymentApplied followed")
    billing["invoices"][501]["balance"] = 500
    r = client.post("/api/invoices/501/pay", json={"phone_number": "0708374149"}, headers=headers)
    assert r.status_code == 200, r.text
    assert stack.sim.transaction(r.json()["data"]["CheckoutRequestID"])["Amount"] == 500

    assert client.post("/api/invoices/502/pay", json={"phone_number": "0708374149"},
                       headers=headers).json()["message"] == "Invoice is already paid"
    assert client.post("/api/invoices/501/pay", json={"phone_number": "0708374149"},
                       headers=stack.keys.headers(STRANGER)).status_code == 403
    assert client.post("/api/invoices/999/pay", json={"phone_number": "0708374149"},
                       headers=headers).status_code == 404
    assert client.post("/api/invoices/501/pay", json={"phone_number": "12"}, headers=headers).status_code == 400
    both = client.post("/api/payments/mpesa/initiate", json={"invoice_id": 501, "booking_id": 1,
                                                             "phone_number": "0708374149"}, headers=headers)
    assert both.status_code == 400


def test_autopay_requested_by_billing_pushes_for_the_invoice(stack: Any) -> None:
    stack.start(reconcile_interval_seconds=0.2)
    request = {"invoice_id": 601, "booking_id": 88, "user_id": OWNER, "amount": 2500,
               "phone_number": "0708374149", "attempt": 1}
    stack.event_bus.publish("AutopayRequested", request)
    event = stack.wait_event("PaymentSucceeded", 88, timeout=15)
    assert event["invoice_id"] == 601 and event["amount"] == 2500
    applied(stack, event, 601)  # billing applied it (a request while it has not is test_autopay_is_not_sent_...)
    stack.event_bus.publish("AutopayRequested", {**request, "attempt": 2})  # a second request: one more push
    wait_for(lambda: stack.sim.daraja.stats["stk_pushes"] == 2, what="the second autopay push")
    assert len(stack.payments(88)) == 2


def applied(stack: Any, paid: dict[str, Any], invoice_id: int) -> None:
    """Billing applied this payment to its rental (its RentPaymentApplied), and payments has followed it."""
    stack.event_bus.publish("RentPaymentApplied", {
        "payment_id": paid["payment_id"], "booking_id": paid["booking_id"], "user_id": paid["user_id"],
        "amount": paid["amount"], "method": paid["method"], "receipt": paid["receipt"],
        "invoices": [{"invoice_id": invoice_id, "number": f"INV-{invoice_id:06d}", "amount": paid["amount"]}],
        "balance": 0, "credit": 0, "refund": 0}, source="billing")
    wait_for(lambda: all(p["billing_applied_at"] is not None for p in stack.payments(paid["booking_id"])
                         if p["id"] == paid["payment_id"]), what="RentPaymentApplied followed")


def test_autopay_is_not_sent_for_money_paid_a_moment_ago(stack: Any, billing: dict[str, Any]) -> None:
    # Before: billing's daily job asked for the rental's balance while the customer's own payment of it had just
    # succeeded (billing had not applied it yet), and the autopay push charged them a second time.
    client = stack.start(billing_url=billing["url"], reconcile_interval_seconds=0.2)
    billing["invoices"][701] = {"id": 701, "number": "INV-000701", "booking_id": 89, "user_id": OWNER,
                                "total": 2500, "balance": 2500, "status": "open"}
    r = client.post("/api/invoices/701/pay", json={"phone_number": "0708374149"}, headers=stack.keys.headers(OWNER))
    assert r.status_code == 200, r.text
    paid = stack.wait_event("PaymentSucceeded", 89)
    request = {"invoice_id": 701, "booking_id": 89, "user_id": OWNER, "amount": 2500, "phone_number": "0708374149",
               "attempt": 1}
    stack.event_bus.publish("AutopayRequested", request)
    wait_for(lambda: stack.event_bus.events("AutopayRequested"), what="the request in the stream")
    time.sleep(1.5)  # the consumer and the push job have had their time
    assert stack.sim.daraja.stats["stk_pushes"] == 1 and len(stack.payments(89)) == 1

    applied(stack, paid, 701)  # billing applied it: a later request is charged as usual
    stack.event_bus.publish("AutopayRequested", {**request, "invoice_id": 702, "attempt": 1})
    wait_for(lambda: stack.sim.daraja.stats["stk_pushes"] == 2, what="the next autopay push")


def test_unmatched_money_becomes_a_refund_only_once_daraja_confirms_it(stack: Any) -> None:
    from jeshkit.mpesa import stk_password, stk_timestamp

    client = stack.start(mpesa_callback_token="shared0token")
    admin = stack.keys.headers(ADMIN, "admin")
    hook = f"http://127.0.0.1:{client.port}/api/payments/hooks/stk/shared0token"  # the operator's shared token
    # A push payments has no record of (as if its intent had been lost), calling back on the compat path.
    token = stack.sim.client.get("/oauth/v1/generate", params={"grant_type": "client_credentials"},
                                 auth=("k", "s")).json()["access_token"]
    timestamp = stk_timestamp()
    push = stack.sim.client.post("/mpesa/stkpush/v1/processrequest", headers={"Authorization": f"Bearer {token}"},
                                 json={"BusinessShortCode": "174379", "Timestamp": timestamp,
                                       "Password": stk_password("174379", stack.sim.settings.passkey, timestamp),
                                       "TransactionType": "CustomerPayBillOnline", "Amount": 900,
                                       "PartyA": "254708374149", "PartyB": "174379", "PhoneNumber": "254708374149",
                                       "CallBackURL": hook,
                                       "AccountReference": "LOST", "TransactionDesc": "Unit rental"}).json()
    money = wait_for(lambda: stack.admin_get(client, "/api/payments/unmatched"), what="the unmatched money")[0]
    assert money["reference"] == push["CheckoutRequestID"] and money["amount"] == 900

    forged = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_forged", "ResultCode": 0, "ResultDesc": "ok",
                                       "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": 100000.0},
                                                                     {"Name": "PhoneNumber", "Value": 254700000001}]}}}}
    stack.post_callback(hook, forged)
    fake = next(u for u in stack.admin_get(client, "/api/payments/unmatched") if u["reference"] == "ws_CO_forged")
    r = client.post(f"/api/payments/unmatched/{fake['id']}/refund", headers=admin)
    assert r.status_code in (409, 502)  # Daraja never heard of it: no refund of money that never came
    assert refunds(stack, client) == []

    assert client.post(f"/api/payments/unmatched/{money['id']}/refund",
                       headers=stack.keys.headers(OWNER)).status_code == 403
    # Both wait for an operator (the forged one until Daraja is asked, below).
    assert metric(client, "jesh_unmatched_money_waiting_kes") == 900 + fake["amount"]
    r = client.post(f"/api/payments/unmatched/{money['id']}/refund", headers=admin)
    assert r.status_code == 200, r.text
    refund = r.json()["data"]
    assert refund["amount"] == 900 and refund["status"] == "required" and refund["phone_number"] == "254708374149"
    assert metric(client, "jesh_unmatched_money_waiting") == 1  # a refund is on its way for the real money
    assert client.post(f"/api/payments/unmatched/{money['id']}/refund", headers=admin).status_code == 409
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=admin)
    assert r.status_code == 200, r.text
    wait_for(lambda: refunds(stack, client, "paid"), what="the payout")
    assert stack.sim.daraja.payouts.paid_total == 900


def test_payments_and_daraja_calls_are_counted_for_the_alerts(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    stack.pay(client, booking_id, OWNER)
    stack.wait_event("PaymentSucceeded", booking_id)
    exported = client.get("/metrics").text
    assert 'jesh_payments_total{method="mpesa",outcome="succeeded"}' in exported
    assert 'jesh_daraja_request_duration_seconds_count{operation="stkpush",outcome="ok"}' in exported
    assert 'jesh_daraja_request_duration_seconds_count{operation="stkquery",outcome="ok"}' in exported


def test_webhooks_answer_their_sender_200_even_with_text_no_database_stores(stack: Any) -> None:
    client = stack.start()
    bodies = [b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_\\u0000", "ResultCode": 0}}}',
              b'{"Result": {"OriginatorConversationID": "\\ud800", "ResultCode": 0}}']
    for path in ("/api/payments/hooks/stk/tok", "/api/payments/hooks/stk/%00", "/api/payments/mpesa/callback",
                 "/api/payments/hooks/b2c/result/tok", "/api/payments/hooks/b2c/timeout/%00"):
        for body in bodies:
            r = client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 200 and r.json() == {"ResultCode": 0, "ResultDesc": "Success"}, (path, r.text)
    assert stack.admin_get(client, "/api/payments/unmatched") == []
    # elsewhere the kit still refuses it with the 400 envelope
    r = client.post("/api/payments/mpesa/initiate", content=b'{"booking_id": 1, "phone_number": "07\\u0000"}',
                    headers={**stack.keys.headers(OWNER), "Content-Type": "application/json"})
    assert r.status_code == 400


def test_a_rentals_credit_owed_back_becomes_a_refund_to_the_phone_that_paid(stack: Any, booking_id: int) -> None:
    """CreditRefundRequired (billing: money paid ahead of a move-out): a refund, once, paid like any other."""
    client = stack.start()
    paid_booking(stack, client, booking_id, phone="0708374149")
    owed = {"booking_id": booking_id, "user_id": OWNER, "amount": 1200, "reason": "credit left at the move-out"}
    envelope = stack.event_bus.publish("CreditRefundRequired", owed, source="billing")
    stack.event_bus.publish("CreditRefundRequired", owed, source="billing", event_id=envelope["id"],
                            dedupe=False)  # redelivered: still one refund
    [refund] = wait_for(lambda: refunds(stack, client), what="the refund")
    assert (refund["amount"], refund["method"], refund["phone_number"], refund["status"]) == (
        1200, "mpesa", "254708374149", "required")
    assert refund["booking_id"] == booking_id and refund["reason"] == "credit left at the move-out"
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200, r.text
    paid = stack.wait_event("RefundPaid", booking_id, timeout=20)
    assert paid["amount"] == 1200 and paid["payment_id"] is None
    assert len(refunds(stack, client)) == 1

    # A booking payments has no M-PESA or card payment of: the money is handed back at the desk.
    stack.event_bus.publish("CreditRefundRequired", {**owed, "booking_id": booking_id + 1, "amount": 300},
                            source="billing")
    cash = wait_for(lambda: [x for x in refunds(stack, client) if x["booking_id"] == booking_id + 1], what="cash")
    assert [(x["method"], x["amount"], x["phone_number"]) for x in cash] == [("cash", 300, None)]


def test_money_booking_says_came_after_its_cancellation_goes_back_in_full_once(stack: Any, booking_id: int) -> None:
    """The owner cancelled while their M-PESA prompt was open; the money came after. Payments applied the
    cancellation after the payment (its events come in their own order) and raised the refund less the fee; booking,
    which saw the money come after the cancellation, then asked for all of it back (RefundRequired). The refund
    stayed short of the fee, and the money stood as unmatched with no refund: waiting on the Money page for good."""
    client = stack.start(cancellation_fee_kes=500)
    started = paid_booking(stack, client, booking_id)
    cancel(stack, booking_id, "user")
    [refund] = wait_for(lambda: refunds(stack, client), what="the cancellation's refund")
    assert refund["amount"] == 4000
    stack.event_bus.publish("RefundRequired", {"booking_id": booking_id, "user_id": OWNER, "unit_id": 7,
                                               "amount": 4500, "payment_id": started["payment_id"],
                                               "receipt": None, "reason": "booking_cancelled"})
    wait_for(lambda: refunds(stack, client)[0]["amount"] == 4500, what="the refund made whole")
    [refund] = refunds(stack, client)
    assert refund["reason"] == "booking_cancelled" and refund["status"] == "required"
    [money] = stack.admin_get(client, "/api/payments/unmatched")
    assert money["source"] == "booking_unavailable" and money["refund_id"] == refund["id"]
    waiting = {k["what"]: k for k in stack.admin_get(client, "/api/payments/admin/attention")}
    assert waiting["unmatched"]["count"] == 0  # not waiting for anyone: its refund is on its way
