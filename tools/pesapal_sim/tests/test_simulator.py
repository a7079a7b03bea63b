"""The Pesapal simulator over real HTTP: tokens, IPN registration, orders, the payment page, IPNs and refunds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import wait_for
from pesapal_sim.app import create_app
from pesapal_sim.settings import SimSettings


class Merchant:
    """Our side: an IPN endpoint that records what it receives and answers the acknowledgement."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        app = FastAPI()

        @app.api_route("/ipn", methods=["GET", "POST"])
        async def ipn(request: Request) -> dict[str, Any]:
            notice = dict(request.query_params) if request.method == "GET" else await request.json()
            with self._lock:
                self.received.append({"method": request.method, **notice})
            return {"orderNotificationType": notice["OrderNotificationType"],
                    "orderTrackingId": notice["OrderTrackingId"],
                    "orderMerchantReference": notice["OrderMerchantReference"], "status": 200}

        self.server = LiveServer(app, free_port())
        self.url = f"http://127.0.0.1:{self.server.port}"


@pytest.fixture(scope="module")
def merchant() -> Iterator[Merchant]:
    m = Merchant()
    yield m
    m.server.stop()


@pytest.fixture(scope="module")
def sim() -> Iterator[httpx.Client]:
    server = LiveServer(create_app(SimSettings(ipn_delay_seconds=0.05, refund_delay_seconds=0.1)), free_port())
    yield server.client
    server.stop()


def token(sim: httpx.Client) -> dict[str, str]:
    r = sim.post("/api/Auth/RequestToken", json={"consumer_key": "k", "consumer_secret": "s"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "200" and body["expiryDate"].endswith("Z") and body["error"] is None
    return {"Authorization": f"Bearer {body['token']}", "Accept": "application/json"}


def order(sim: httpx.Client, auth: dict[str, str], ipn_id: str, reference: str, **extra: Any) -> dict[str, Any]:
    body = {"id": reference, "currency": "KES", "amount": 1500, "description": "Unit rental",
            "callback_url": "https://shop.example/return?x=1", "notification_id": ipn_id,
            "billing_address": {"email_address": "a@example.com", "country_code": "KE"}, **extra}
    r = sim.post("/api/Transactions/SubmitOrderRequest", json=body, headers=auth)
    return dict(r.json())


def status(sim: httpx.Client, auth: dict[str, str], tracking: str) -> dict[str, Any]:
    r = sim.get("/api/Transactions/GetTransactionStatus", params={"orderTrackingId": tracking}, headers=auth)
    assert r.status_code == 200
    return dict(r.json())


def test_credentials_are_needed_and_a_token_expires(sim: httpx.Client) -> None:
    assert sim.post("/api/Auth/RequestToken", json={"consumer_key": ""}).status_code == 401
    auth = token(sim)
    assert sim.get("/api/URLSetup/GetIpnList", headers=auth).status_code == 200
    assert sim.get("/api/URLSetup/GetIpnList").status_code == 401
    assert sim.post("/simulator/tokens/expire").json()["expired"] >= 1
    r = sim.get("/api/URLSetup/GetIpnList", headers=auth)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"


def test_a_paid_order_sends_its_ipn_and_the_browser_back_and_its_status_tells(
    sim: httpx.Client, merchant: Merchant
) -> None:
    auth = token(sim)
    registered = sim.post("/api/URLSetup/RegisterIPN", json={"url": f"{merchant.url}/ipn",
                                                               "ipn_notification_type": "GET"}, headers=auth).json()
    assert registered["status"] == "200" and registered["ipn_notification_type_description"] == "GET"
    listed = sim.get("/api/URLSetup/GetIpnList", headers=auth).json()
    assert any(i["ipn_id"] == registered["ipn_id"] for i in listed)

    made = order(sim, auth, registered["ipn_id"], "JESH-1-abc")
    assert made["status"] == "200" and made["merchant_reference"] == "JESH-1-abc"
    assert order(sim, auth, registered["ipn_id"], "JESH-1-abc")["error"]["code"] == "duplicate_merchant_reference"
    assert order(sim, auth, "nope", "JESH-2")["error"]["code"] == "invalid_notification_id"
    assert order(sim, auth, registered["ipn_id"], "JESH 3")["error"]["code"] == "invalid_merchant_reference"
    unpaid = status(sim, auth, made["order_tracking_id"])
    assert unpaid["status_code"] == 0 and unpaid["error"]["code"] == "payment_details_not_found"

    page = made["redirect_url"].replace(str(sim.base_url), "")
    assert "card_number" in sim.get(page).text
    back = sim.post(page, data={"card_number": "4111111111111111"})
    assert back.status_code == 303
    assert back.headers["location"] == ("https://shop.example/return?x=1&OrderTrackingId="
                                        f"{made['order_tracking_id']}&OrderMerchantReference=JESH-1-abc"
                                        "&OrderNotificationType=CALLBACKURL")
    [notice] = wait_for(lambda: [r for r in merchant.received if r["OrderTrackingId"] == made["order_tracking_id"]],
                        what="the IPN")
    assert notice == {"method": "GET", "OrderTrackingId": made["order_tracking_id"],
                      "OrderMerchantReference": "JESH-1-abc", "OrderNotificationType": "IPNCHANGE"}
    paid = status(sim, auth, made["order_tracking_id"])
    assert paid["status_code"] == 1 and paid["payment_status_description"] == "Completed"
    assert paid["amount"] == 1500 and paid["currency"] == "KES" and paid["confirmation_code"]
    assert sim.post(page, data={"card_number": "4111111111111111"}).status_code == 409  # paid once


def test_a_declined_card_fails_and_a_refund_reverses_a_payment(sim: httpx.Client, merchant: Merchant) -> None:
    auth = token(sim)
    registered = sim.post("/api/URLSetup/RegisterIPN", json={"url": f"{merchant.url}/ipn",
                                                              "ipn_notification_type": "POST"}, headers=auth)
    ipn_id = registered.json()["ipn_id"]
    made = order(sim, auth, ipn_id, "JESH-9-def")
    page = made["redirect_url"].replace(str(sim.base_url), "")
    assert sim.post(page, data={"card_number": "4000000000000002"}).status_code == 303
    declined = wait_for(lambda: status(sim, auth, made["order_tracking_id"])["status_code"] == 2, what="declined")
    assert declined
    assert sim.post(page, data={"card_number": "4111111111111111"}).status_code == 303  # tried again on the page
    code = status(sim, auth, made["order_tracking_id"])["confirmation_code"]

    refund = {"confirmation_code": code, "amount": "2000.00", "username": "admin", "remarks": "cancelled"}
    r = sim.post("/api/Transactions/RefundRequest", json=refund, headers=auth)
    assert r.json() == {"status": "500", "message": "You can't refund more than was collected"}
    refund["amount"] = "1500.00"
    assert sim.post("/api/Transactions/RefundRequest", json=refund, headers=auth).json()["status"] == "200"
    # One refund request per payment (Pesapal: "Multiple refunds are not allowed"): the same one again is refused.
    again = sim.post("/api/Transactions/RefundRequest", json=refund, headers=auth)
    assert again.json() == {"status": "500", "message": "Only one refund can be requested per payment"}
    wait_for(lambda: status(sim, auth, made["order_tracking_id"])["status_code"] == 3, what="reversed")
    posts = wait_for(lambda: [r for r in merchant.received
                              if r["OrderTrackingId"] == made["order_tracking_id"] and r["method"] == "POST"][2:],
                     what="three IPNs: declined, paid, reversed")
    assert posts[0]["OrderNotificationType"] == "IPNCHANGE"
    assert sim.get("/simulator/stats").json()["refund_requests"] == 3
