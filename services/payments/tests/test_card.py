"""Card and Airtel Money payments through Pesapal API 3.0: real PostgreSQL and NATS, payments as a real HTTP server,
the Pesapal simulator over HTTP (its payment page posts the IPN back to payments), a stand-in for auth's profile."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

try:
    import pesapal_sim  # noqa: F401
except ImportError:  # not pip-installed yet (./jesh installs tools/* editable)
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools" / "pesapal_sim" / "src"))

from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import wait_for
from pesapal_sim.app import create_app as create_pesapal
from pesapal_sim.pesapal import DECLINED, PAYS, Pesapal
from pesapal_sim.settings import SimSettings

OWNER = 11
STRANGER = 12
ADMIN = 1
IPN_TOKEN = "test-ipn-token-0123456789"
PROFILES = {OWNER: {"id": OWNER, "email": "wanjiku@example.co.ke", "phone": "254712345678", "name": "Wanjiku Kamau",
                    "role": "user"}}


class PesapalSim:
    def __init__(self) -> None:
        self.pesapal = Pesapal(SimSettings(ipn_delay_seconds=0.05, refund_delay_seconds=0.2))
        self.server = LiveServer(create_pesapal(self.pesapal.settings, pesapal=self.pesapal), free_port())
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.browser = httpx.Client(timeout=30, follow_redirects=False)

    def order(self, tracking_id: str) -> dict[str, Any]:
        order = self.pesapal.get(tracking_id)
        assert order is not None, tracking_id
        return order.to_dict()

    def pay(self, redirect_url: str, card: str = PAYS, **form: str) -> httpx.Response:
        """The customer on Pesapal's page: the form is posted, the browser is sent back with 303."""
        assert self.browser.get(redirect_url).status_code == 200
        return self.browser.post(redirect_url, data={"card_number": card, **form})

    def close(self) -> None:
        self.browser.close()
        self.server.stop()


@pytest.fixture
def pesapal() -> Iterator[PesapalSim]:
    sim = PesapalSim()
    yield sim
    sim.close()


@pytest.fixture
def auth() -> Iterator[str]:
    """A stand-in for auth's GET /api/auth/profile (the caller's own token tells who they are)."""
    app = FastAPI()

    @app.get("/api/auth/profile")
    def profile(request: Request) -> JSONResponse:
        user = int(request.headers.get("x-test-user", OWNER))
        return JSONResponse(PROFILES.get(user, {"id": user, "email": f"u{user}@example.com", "phone": "0711111111",
                                                "name": "Someone", "role": "user"}))

    server = LiveServer(app, free_port())
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture
def card(stack: Any, pesapal: PesapalSim, auth: str) -> Any:
    """Start payments wired to the Pesapal simulator; returns the client."""

    def start(**overrides: Any) -> httpx.Client:
        return stack.start(**{"pesapal_base_url": pesapal.url, "pesapal_ipn_token": IPN_TOKEN, "auth_url": auth,
                              **overrides})

    return start


def initiate(stack: Any, client: httpx.Client, user: int = OWNER, **body: Any) -> httpx.Response:
    return client.post("/api/payments/card/initiate", json=body, headers=stack.keys.headers(user))


def started(stack: Any, client: httpx.Client, booking_id: int) -> dict[str, Any]:
    r = initiate(stack, client, booking_id=booking_id)
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])



def paid_by_card(stack: Any, client: httpx.Client, pesapal: PesapalSim, booking_id: int) -> dict[str, Any]:
    """A booking of 4500 paid on Pesapal's page, its PaymentSucceeded published: the initiate answer."""
    stack.booking(booking_id, OWNER, total_price=4500)
    data = started(stack, client, booking_id)
    pesapal.pay(data["redirect_url"])
    stack.wait_event("PaymentSucceeded", booking_id)
    return data


def cancel_by_admin(stack: Any, booking_id: int) -> None:
    stack.event_bus.publish("BookingCancelled", {"booking_id": booking_id, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": "2030-01-01", "end_date": "2030-02-01",
                                                 "reason": "admin"})


def ipn(client: httpx.Client, order: dict[str, Any], token: str = IPN_TOKEN, method: str = "GET") -> httpx.Response:
    params = {"OrderTrackingId": order["order_tracking_id"], "OrderMerchantReference": order["merchant_reference"],
              "OrderNotificationType": "IPNCHANGE"}
    if method == "GET":
        return client.get(f"/api/payments/hooks/pesapal/{token}", params=params)
    return client.post(f"/api/payments/hooks/pesapal/{token}", json=params)


# --- success, declines, retries -------------------------------------------------------------------------
def test_a_card_payment_confirms_the_booking_only_once_pesapal_says_completed(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    client = card()
    stack.booking(booking_id, OWNER, total_price=4500)
    data = started(stack, client, booking_id)
    order = pesapal.order(data["order_tracking_id"])
    assert order["amount"] == 4500 and order["currency"] == "KES" and data["redirect_url"].startswith(pesapal.url)
    assert order["billing_address"]["email_address"] == "wanjiku@example.co.ke"
    assert order["ipn_url"].endswith(f"/api/payments/hooks/pesapal/{IPN_TOKEN}")
    assert order["merchant_reference"].startswith(f"JESH-{booking_id}-")
    assert stack.status(client, booking_id, OWNER).json()["data"]["status"] == "pending"

    back = pesapal.pay(data["redirect_url"])
    assert back.status_code == 303
    assert back.headers["location"].startswith(f"http://127.0.0.1:{client.port}/api/payments/card/return?")
    assert f"OrderTrackingId={data['order_tracking_id']}" in back.headers["location"]
    event = stack.wait_event("PaymentSucceeded", booking_id)
    code = pesapal.order(data["order_tracking_id"])["confirmation_code"]
    assert event["method"] == "card" and event["amount"] == 4500 and event["receipt"] == code
    assert event["checkout_request_id"] == data["order_tracking_id"] and event["invoice_id"] is None
    status = stack.status(client, booking_id, OWNER).json()["data"]
    assert status["method"] == "card" and status["status"] == "success" and status["transaction_code"] == code
    [delivery] = wait_for(lambda: pesapal.order(data["order_tracking_id"])["ipn_deliveries"], what="the IPN")
    assert delivery["status_code"] == 200
    assert delivery["answer"] == {"orderNotificationType": "IPNCHANGE", "orderTrackingId": data["order_tracking_id"],
                                  "orderMerchantReference": order["merchant_reference"], "status": 200}
    # the browser's return asks Pesapal too and shows the outcome
    r = httpx.get(back.headers["location"])
    assert r.status_code == 200 and r.json()["data"] == {"payment_id": data["payment_id"], "booking_id": booking_id,
                                                         "invoice_id": None, "status": "success"}


def test_a_declined_card_leaves_the_booking_pending_and_payable_again(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    client = card()
    stack.booking(booking_id, OWNER, total_price=4500)
    first = started(stack, client, booking_id)
    assert pesapal.pay(first["redirect_url"], DECLINED).status_code == 303
    failed = stack.wait_event("PaymentFailed", booking_id)
    assert failed["method"] == "card" and "Unable to Authorize" in failed["reason"]
    status = stack.status(client, booking_id, OWNER).json()["data"]
    # The customer reads the card's reason, the same as the event's (not code 2 of M-PESA's table: "below minimum").
    assert status["status"] == "failed" and status["reason"] == failed["reason"]
    assert stack.booking_row(booking_id)["status"] == "pending"

    second = started(stack, client, booking_id)  # retryable at once
    assert second["order_tracking_id"] != first["order_tracking_id"]
    pesapal.pay(second["redirect_url"])
    assert stack.wait_event("PaymentSucceeded", booking_id)["receipt"]
    assert stack.status(client, booking_id, OWNER).json()["data"]["status"] == "success"


def test_initiate_checks_the_request_and_the_owner(stack: Any, card: Any, booking_id: int) -> None:
    client = card()
    stack.booking(booking_id, OWNER, total_price=4500)
    assert initiate(stack, client, booking_id=booking_id, invoice_id=3).status_code == 400
    assert initiate(stack, client).status_code == 400
    assert initiate(stack, client, booking_id=True).status_code == 400
    assert initiate(stack, client, STRANGER, booking_id=booking_id).status_code == 403
    assert client.post("/api/payments/card/initiate", json={"booking_id": booking_id}).status_code == 401
    assert client.get("/api/payments/card/return").status_code == 400
    assert client.get("/api/payments/card/return", params={"OrderTrackingId": "nobody"}).status_code == 404
    # text no database can store is refused before any route (the kit), never a 500
    assert client.get("/api/payments/card/return?OrderTrackingId=%00").status_code == 400
    nul = client.post(f"/api/payments/hooks/pesapal/{IPN_TOKEN}", json={"OrderTrackingId": "a\u0000b"})
    assert nul.status_code == 400


# --- a card order left on Pesapal's page ----------------------------------------------------------------
def test_a_card_order_left_unpaid_does_not_stop_the_customer_paying_by_mpesa_at_once(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    client = card()
    stack.booking(booking_id, OWNER, total_price=4500)
    abandoned = started(stack, client, booking_id)  # the customer opens Pesapal's page, then leaves it
    # A stranger's attempt changes nothing (refused before any order is looked at).
    assert stack.initiate(client, booking_id, STRANGER).status_code == 403
    assert stack.payments(booking_id)[0]["status"] == "pending"

    r = stack.initiate(client, booking_id, OWNER)  # M-PESA, within the hold: no 409 "in progress"
    assert r.status_code == 200, r.text
    card_payment, mpesa_payment = stack.payments(booking_id)
    assert (card_payment["method"], card_payment["status"]) == ("card", "failed")
    failed = stack.wait_event("PaymentFailed", booking_id)
    assert failed["method"] == "card" and failed["reason"] == "The card payment was not completed"
    assert stack.wait_event("PaymentSucceeded", booking_id)["payment_id"] == mpesa_payment["id"]

    # Should the customer still pay the page they left, the money is not lost: the order settles as a success (the
    # booking, already paid, refunds what it cannot use).
    assert pesapal.pay(abandoned["redirect_url"]).status_code == 303
    wait_for(lambda: [e for e in stack.outbox("PaymentSucceeded", booking_id) if e["method"] == "card"],
             what="the late card payment recorded")
    assert {p["status"] for p in stack.payments(booking_id)} == {"success"}


def test_a_card_order_left_unpaid_does_not_stop_the_desk_taking_cash_and_one_paid_does(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    """Before, the desk refused the cash ("still under way") for the half hour until the abandoned order timed out."""
    client = card()

    def cash(booking: int) -> httpx.Response:
        return client.post("/api/payments/cash", json={"account": f"JESH-{booking}", "amount": 4500},
                           headers=stack.keys.headers(1, "admin"))

    stack.booking(booking_id, OWNER, total_price=4500)
    started(stack, client, booking_id)  # the customer opens Pesapal's page, then leaves it for the desk
    r = cash(booking_id)
    assert r.status_code == 201, r.text
    card_payment, cash_payment = stack.payments(booking_id)
    assert (card_payment["method"], card_payment["status"]) == ("card", "failed")
    assert cash_payment["id"] == r.json()["data"]["id"]
    assert stack.wait_event("PaymentSucceeded", booking_id)["payment_id"] == cash_payment["id"]

    # The page paid, its IPN not come yet: Pesapal says so, and the cash would pay the booking twice.
    paid = booking_id + 1
    stack.booking(paid, OWNER, total_price=4500)
    pesapal.pesapal.settings.ipn_delay_seconds = 60
    assert pesapal.pay(started(stack, client, paid)["redirect_url"]).status_code == 303
    r = cash(paid)
    assert r.status_code == 409, r.text
    assert r.json()["message"] == f"That account cannot take this money: booking JESH-{paid} is paid already"
    assert [(p["method"], p["status"]) for p in stack.payments(paid)] == [("card", "success")]


def test_a_card_order_paid_before_its_ipn_came_is_found_paid_when_the_customer_tries_again(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    client = card()
    stack.booking(booking_id, OWNER, total_price=4500)
    pesapal.pesapal.settings.ipn_delay_seconds = 60  # Pesapal's IPN is late
    order = started(stack, client, booking_id)
    assert pesapal.pay(order["redirect_url"]).status_code == 303
    again = initiate(stack, client, booking_id=booking_id)  # a new card order? Pesapal says this one is paid
    assert again.status_code == 409 and again.json()["message"] == "Booking is already paid", again.text
    assert stack.wait_event("PaymentSucceeded", booking_id)["method"] == "card"
    assert [p["status"] for p in stack.payments(booking_id)] == ["success"]


# --- forged, replayed and missing IPNs ------------------------------------------------------------------
def test_a_forged_or_replayed_ipn_changes_nothing(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    client = card()
    stack.booking(booking_id, OWNER, total_price=4500)
    data = started(stack, client, booking_id)
    order = pesapal.order(data["order_tracking_id"])
    # an IPN for an order nobody paid: Pesapal's status query says so, nothing happens
    for method in ("GET", "POST"):
        r = ipn(client, order, method=method)
        assert r.status_code == 200 and r.json()["status"] == 200
    forged = {**order, "order_tracking_id": "00000000-0000-0000-0000-000000000000"}
    assert ipn(client, forged).json()["orderTrackingId"] == forged["order_tracking_id"]
    assert ipn(client, order, token="wrong").status_code == 200
    assert stack.payments(booking_id)[0]["status"] == "pending"
    assert not stack.outbox("PaymentSucceeded", booking_id) and not stack.outbox("PaymentFailed", booking_id)
    assert stack.admin_get(client, "/api/payments/unmatched") == []

    pesapal.pay(data["redirect_url"])
    stack.wait_event("PaymentSucceeded", booking_id)
    for _ in range(3):  # Pesapal (or anyone) sends it again: one payment, one event
        assert ipn(client, order, method="POST").json()["status"] == 200
    assert len(stack.outbox("PaymentSucceeded", booking_id)) == 1
    assert stack.payments(booking_id)[0]["callbacks_received"] >= 4


def test_an_order_whose_ipn_never_comes_is_settled_by_reconciliation(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    client = card(payment_reconcile_after_seconds=1)
    stack.booking(booking_id, OWNER, total_price=4500)
    data = started(stack, client, booking_id)
    assert pesapal.pay(data["redirect_url"], send_ipn="0").status_code == 303
    event = stack.wait_event("PaymentSucceeded", booking_id, timeout=15)
    code = pesapal.order(data["order_tracking_id"])["confirmation_code"]
    assert event["method"] == "card" and event["receipt"] == code
    assert pesapal.order(data["order_tracking_id"])["ipn_deliveries"] == []


def test_an_unpaid_order_is_failed_after_its_timeout_and_a_chargeback_is_flagged(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    client = card(pesapal_order_timeout_seconds=0.5, payment_reconcile_after_seconds=3600)
    stack.booking(booking_id, OWNER, total_price=4500)
    abandoned = started(stack, client, booking_id)
    # an abandoned page; the job waits 30 s between looks at a row, so make it due now
    with stack.db.begin() as conn:
        conn.exec_driver_sql("UPDATE payments SET updated_at = now() - interval '1 minute'")
    failed = stack.wait_event("PaymentFailed", booking_id, timeout=15)
    assert failed["reason"] == "The card payment was not completed"

    paid = started(stack, client, booking_id)
    assert paid["payment_id"] != abandoned["payment_id"]
    pesapal.pay(paid["redirect_url"])
    stack.wait_event("PaymentSucceeded", booking_id)
    r = pesapal.server.client.post(f"/simulator/orders/{paid['order_tracking_id']}/reverse")
    assert r.json()["answer"]["status"] == 200
    rows = stack.admin_get(client, f"/api/payments?booking_id={booking_id}")
    [row] = [p for p in rows if p["id"] == paid["payment_id"]]
    assert row["status"] == "success" and "REVERSED" in row["discrepancy"]


# --- the access token --------------------------------------------------------------------------------------
def test_an_expired_token_is_refreshed_once_across_concurrent_calls_and_replicas(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    first, second = card(), card()  # two replicas on one database
    stack.booking(booking_id, OWNER, total_price=4500)
    data = started(stack, first, booking_id)
    issued = pesapal.pesapal.stats["tokens_issued"]
    assert issued == 1
    assert pesapal.server.client.post("/simulator/tokens/expire").json()["expired"] == 1

    location = f"/api/payments/card/return?OrderTrackingId={data['order_tracking_id']}"
    answers: list[int] = []
    gate = threading.Barrier(8)

    def ask(client: httpx.Client) -> None:
        gate.wait()
        answers.append(httpx.get(f"http://127.0.0.1:{client.port}{location}", timeout=30).status_code)

    threads = [threading.Thread(target=ask, args=(c,)) for c in (first, second) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 8
    assert pesapal.pesapal.stats["tokens_issued"] == 2  # one refresh for everybody
    assert pesapal.pesapal.stats["rejected_tokens"] >= 1


def test_an_stk_callback_naming_a_card_order_settles_nothing_and_is_kept_as_unmatched(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    """The compat callback path takes bodies without a token (MPESA_CALLBACK_TOKEN unset): one naming a card
    order's OrderTrackingId (kept where an M-PESA push keeps its CheckoutRequestID) is no M-PESA payment's."""
    client = card()
    stack.booking(booking_id, OWNER, total_price=4500)
    data = started(stack, client, booking_id)
    body = {"Body": {"stkCallback": {"MerchantRequestID": "1-2-3", "CheckoutRequestID": data["order_tracking_id"],
                                     "ResultCode": 0, "ResultDesc": "ok", "CallbackMetadata": {"Item": [
                                         {"Name": "Amount", "Value": 4500.0},
                                         {"Name": "MpesaReceiptNumber", "Value": "QWE123RTY9"},
                                         {"Name": "PhoneNumber", "Value": 254708374149}]}}}}
    assert client.post("/api/payments/mpesa/callback", json=body).status_code == 200
    [row] = stack.admin_get(client, f"/api/payments?booking_id={booking_id}")
    assert row["status"] == "pending" and stack.payment(data["order_tracking_id"])["callbacks_received"] == 0
    [money] = [u for u in stack.admin_get(client, "/api/payments/unmatched")
               if u["reference"] == data["order_tracking_id"]]
    assert money["payment_id"] is None and money["source"] == "stk_callback"
    assert pesapal.pesapal.stats["status_queries"] == 0  # Pesapal was not asked about it


# --- refunds and invoices ---------------------------------------------------------------------------------
def test_a_card_refund_is_requested_from_pesapal_and_paid_when_the_payment_is_reversed(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    client = card()
    data = paid_by_card(stack, client, pesapal, booking_id)
    cancel_by_admin(stack, booking_id)
    [refund] = wait_for(lambda: stack.admin_get(client, "/api/payments/refunds"), what="the refund")
    assert refund["method"] == "card" and refund["amount"] == 4500 and refund["status"] == "required"
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] in ("paying", "paid")

    event = stack.wait_event("RefundPaid", booking_id)
    order = pesapal.order(data["order_tracking_id"])
    assert order["refund"]["amount"] == 4500 and order["payment_status_description"] == "REVERSED"
    assert event["method"] == "card" and event["amount"] == 4500 and event["receipt"] == order["confirmation_code"]
    assert event["payment_id"] == data["payment_id"]
    status = stack.status(client, booking_id, OWNER).json()["data"]
    assert status["status"] == "success" and status["refund"]["status"] == "paid"
    [row] = stack.admin_get(client, f"/api/payments?booking_id={booking_id}")
    assert row["discrepancy"] is None  # a reversal we asked for is no chargeback
    # Pesapal tells it again (an IPN repeated): still the refund's, no chargeback.
    again = pesapal.server.client.post(f"/simulator/orders/{data['order_tracking_id']}/ipn")
    assert again.json()["status_code"] == 200, again.text
    [row] = stack.admin_get(client, f"/api/payments?booking_id={booking_id}")
    assert row["discrepancy"] is None


def test_a_rentals_credit_never_takes_the_refund_of_the_bookings_own_card_payment(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    """Pesapal takes one refund request per payment: a credit refund on the booking's own card payment took it, and
    the admin cancellation's refund of that payment was then dropped."""
    client = card()
    paid_by_card(stack, client, pesapal, booking_id)
    stack.event_bus.publish("CreditRefundRequired", {"booking_id": booking_id, "user_id": OWNER, "amount": 1000,
                                                     "reason": "credit left at the move-out"}, source="billing")
    wait_for(lambda: stack.admin_get(client, "/api/payments/refunds"), what="the credit's refund")
    cancel_by_admin(stack, booking_id)
    both = wait_for(lambda: found if len(found := stack.admin_get(client, "/api/payments/refunds")) == 2 else None,
                    what="the cancellation's refund too")
    assert sorted((r["amount"], r["method"]) for r in both) == [(1000, "cash"), (4500, "card")]


def test_a_card_refund_whose_answer_was_lost_is_paid_when_the_payment_is_reversed(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    """Pesapal took the refund request but its answer was lost; it refuses the request sent again (one refund
    request per payment), and the refund is recorded as failed. The order's reversal then is this refund paid, not
    a chargeback nobody asked for."""
    client = card()
    data = paid_by_card(stack, client, pesapal, booking_id)
    cancel_by_admin(stack, booking_id)
    [refund] = wait_for(lambda: stack.admin_get(client, "/api/payments/refunds"), what="the refund")
    pesapal.pesapal.settings.refund_delay_seconds = 4.0  # Pesapal's finance team takes its time
    assert pesapal.server.client.post("/simulator/refunds/lose-answers", params={"count": 1}).status_code == 200
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200 and r.json()["data"]["status"] == "approved", r.text  # the outcome is unsure
    with stack.db.begin() as conn:  # the job waits 30 s between looks at a refund: due now
        conn.exec_driver_sql("UPDATE refunds SET updated_at = now() - interval '1 minute'")

    def refund_now() -> dict[str, Any]:
        return next(x for x in stack.admin_get(client, "/api/payments/refunds") if x["id"] == refund["id"])

    wait_for(lambda: refund_now()["status"] == "failed", what="the request sent again, refused")
    event = stack.wait_event("RefundPaid", booking_id, timeout=15)
    order = pesapal.order(data["order_tracking_id"])
    assert order["payment_status_description"] == "REVERSED" and order["refund"]["amount"] == 4500
    assert event["amount"] == 4500 and event["receipt"] == order["confirmation_code"]
    assert refund_now()["status"] == "paid"
    [row] = stack.admin_get(client, f"/api/payments?booking_id={booking_id}")
    assert row["discrepancy"] is None  # the reversal was this refund, not a chargeback


def test_unmatched_card_money_becomes_a_card_refund_paid_when_pesapal_reverses_it(
    stack: Any, card: Any, pesapal: PesapalSim, booking_id: int
) -> None:
    client = card()
    stack.booking(booking_id, OWNER, total_price=4500)
    known = started(stack, client, booking_id)  # registers our IPN URL with Pesapal
    ipn_id = pesapal.pesapal.get(known["order_tracking_id"]).ipn.ipn_id  # type: ignore[union-attr]
    # An order payments has no record of (its intent lost), paid on Pesapal's page: its IPN reaches us.
    lost = pesapal.pesapal.submit_order({
        "id": "LOST-ORDER-1", "currency": "KES", "amount": 2700, "description": "Jesh Storage JESH-lost",
        "callback_url": "https://example.co.ke/back", "notification_id": ipn_id,
        "billing_address": {"email_address": "wanjiku@example.co.ke"}})
    pesapal.pay(pesapal.url + lost.redirect_path)
    money = wait_for(lambda: [u for u in stack.admin_get(client, "/api/payments/unmatched")
                              if u["reference"] == lost.order_tracking_id], what="the unmatched card money")[0]
    assert money["source"] == "pesapal_ipn" and money["amount"] == 2700 and money["refund_id"] is None

    admin = stack.keys.headers(ADMIN, "admin")
    r = client.post(f"/api/payments/unmatched/{money['id']}/refund", headers=admin)
    assert r.status_code == 200, r.text
    refund = r.json()["data"]
    assert (refund["method"], refund["amount"], refund["status"]) == ("card", 2700, "required")
    assert client.post(f"/api/payments/unmatched/{money['id']}/refund", headers=admin).status_code == 409
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=admin)
    assert r.status_code == 200, r.text

    def paid() -> dict[str, Any] | None:
        rows = stack.admin_get(client, "/api/payments/refunds?status=paid")
        return next((x for x in rows if x["id"] == refund["id"]), None)

    done = wait_for(paid, timeout=15, what="the card refund paid")
    order = pesapal.order(lost.order_tracking_id)
    assert order["refund"]["amount"] == 2700 and order["payment_status_description"] == "REVERSED"
    assert done["receipt"] == order["confirmation_code"]
    assert next(u for u in stack.admin_get(client, "/api/payments/unmatched")
                if u["id"] == money["id"])["refund_id"] == refund["id"]



def test_an_invoice_is_paid_by_card_for_its_balance(
    stack: Any, card: Any, pesapal: PesapalSim, billing: dict[str, Any]
) -> None:
    client = card(billing_url=billing["url"])
    billing["invoices"][701] = {"id": 701, "number": "INV-000701", "booking_id": 91, "user_id": OWNER,
                                "total": 300000, "balance": 280000, "status": "open"}  # above M-PESA's limit
    r = initiate(stack, client, invoice_id=701)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    order = pesapal.order(data["order_tracking_id"])
    assert order["amount"] == 280000 and order["merchant_reference"].startswith("INV-000701-")
    # Asked again (the customer left the page unpaid): the unpaid order is released, a new one is made.
    again = initiate(stack, client, invoice_id=701)
    assert again.status_code == 200, again.text
    assert [(p["status"], p["invoice_id"]) for p in stack.payments(91)] == [("failed", 701), ("pending", 701)]
    data = again.json()["data"]
    pesapal.pay(data["redirect_url"])
    event = stack.wait_event("PaymentSucceeded", 91)
    assert event["invoice_id"] == 701 and event["amount"] == 280000 and event["method"] == "card"
    assert initiate(stack, client, STRANGER, invoice_id=701).status_code == 403
    assert initiate(stack, client, invoice_id=999).status_code == 404


def test_production_refuses_the_development_pesapal_secrets() -> None:
    from payments.settings import Settings

    with pytest.raises(Exception) as refused:
        Settings(environment="production", daraja_consumer_key="k", daraja_consumer_secret="s", mpesa_passkey="p",
                 mpesa_callback_token="t")
    for name in ("PESAPAL_CONSUMER_KEY", "PESAPAL_CONSUMER_SECRET", "PESAPAL_IPN_TOKEN"):
        assert name in str(refused.value)


def test_production_refuses_the_development_b2c_credential() -> None:
    from payments.settings import Settings

    production = {"environment": "production", "daraja_consumer_key": "k", "daraja_consumer_secret": "s",
                  "mpesa_passkey": "p", "mpesa_callback_token": "t", "pesapal_consumer_key": "pk",
                  "pesapal_consumer_secret": "ps", "pesapal_ipn_token": "pt"}
    with pytest.raises(Exception) as refused:
        Settings(**production)  # refunds would be paid with a credential M-PESA refuses
    assert "MPESA_B2C_SECURITY_CREDENTIAL" in str(refused.value)
    assert Settings(**production, mpesa_b2c_security_credential="c2VjcmV0").mpesa_b2c_security_credential


def test_a_completed_order_for_another_amount_or_currency_is_flagged_never_confirmed() -> None:
    from decimal import Decimal

    from payments.models import Payment
    from payments.providers import Settlement
    from payments.service.settle import settle

    for amount, currency in ((Decimal("1.00"), "KES"), (Decimal("4500.00"), "USD")):
        payment = Payment(id=5, booking_id=9, user_id=OWNER, method="card", amount=4500, status="pending")
        settle(None, payment, Settlement(0, "Completed", amount=amount, currency=currency, receipt="X1"))  # type: ignore[arg-type]
        assert payment.status == "pending" and payment.receipt is None
        assert payment.discrepancy and ("reports" in payment.discrepancy)


@pytest.mark.parametrize("amount", ["1E+100000", 2**31, "lots"])
def test_a_completed_status_with_an_amount_no_payment_can_have_is_not_believed(amount: Any) -> None:
    # Such an amount is read as none at all (daraja_wire.as_decimal): Pesapal's "completed" with such an amount, or
    # with none, or with no currency, is refused (asked again later), never settled on its word.
    from payments.pesapal import PesapalClient
    from payments.providers import ProviderRefused

    status = {"status_code": 1, "payment_status_description": "Completed", "amount": amount, "currency": "KES",
              "confirmation_code": "AB12CD34", "merchant_reference": "JESH-P5"}

    def pesapal_api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/Auth/RequestToken":
            return httpx.Response(200, json={"token": "t", "expiryDate": "2099-01-01T00:00:00Z", "status": "200"})
        return httpx.Response(200, json=status)

    class EveryTime:
        def obtain(self, fetch: Any, *, stale: str | None, margin: float) -> tuple[str, float]:
            token, _ = fetch()
            return token, 4e9

    with httpx.Client(transport=httpx.MockTransport(pesapal_api)) as http:
        client = PesapalClient(http, base_url="http://pesapal.test", consumer_key="k", consumer_secret="s",
                               token_store=EveryTime())
        with pytest.raises(ProviderRefused, match="unreadable amount"):
            client.transaction_status("order-1")
        del status["amount"]
        with pytest.raises(ProviderRefused, match="paid without its amount"):
            client.transaction_status("order-1")
        status["amount"], status["currency"] = "4500.00", ""
        with pytest.raises(ProviderRefused, match="paid without its currency"):
            client.transaction_status("order-1")
        status["currency"] = "KES"
        told = client.transaction_status("order-1")
        assert told is not None and told.amount == 4500 and told.confirmation_code == "AB12CD34"
