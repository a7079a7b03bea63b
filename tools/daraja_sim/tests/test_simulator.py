"""The simulator over real HTTP: Daraja's wire format, its validation errors, outcomes and callbacks."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI, Request

from daraja_sim.app import create_app
from daraja_sim.settings import SANDBOX_PASSKEY, SANDBOX_SHORTCODE, SimSettings
from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import wait_for

NAIROBI = ZoneInfo("Africa/Nairobi")
BASIC = "Basic " + base64.b64encode(b"some-key:some-secret").decode()


class Receiver:
    """A callback endpoint that records what it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        app = FastAPI()

        @app.post("/hooks/stk/{token}")
        async def hook(token: str, request: Request) -> dict[str, Any]:
            with self._lock:
                self.received.append({"token": token, "body": await request.json()})
            return {"ResultCode": 0, "ResultDesc": "Success"}

        self.server = LiveServer(app, free_port())
        self.url = f"http://127.0.0.1:{self.server.port}/hooks/stk/tok123"

    def for_checkout(self, checkout_request_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                r["body"]["Body"]["stkCallback"]
                for r in self.received
                if r["body"]["Body"]["stkCallback"]["CheckoutRequestID"] == checkout_request_id
            ]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.stop()


@pytest.fixture(scope="module")
def sim() -> Iterator[httpx.Client]:
    settings = SimSettings(callback_delay_seconds=0.2, slow_callback_delay_seconds=0.8)
    server = LiveServer(create_app(settings), free_port())
    yield server.client
    server.stop()


def token(sim: httpx.Client, auth: str = BASIC) -> str:
    r = sim.get("/oauth/v1/generate", params={"grant_type": "client_credentials"}, headers={"Authorization": auth})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def credentials(timestamp: str | None = None, shortcode: str = SANDBOX_SHORTCODE) -> dict[str, str]:
    timestamp = timestamp or datetime.now(NAIROBI).strftime("%Y%m%d%H%M%S")
    password = base64.b64encode(f"{shortcode}{SANDBOX_PASSKEY}{timestamp}".encode()).decode()
    return {"BusinessShortCode": shortcode, "Password": password, "Timestamp": timestamp}


def push_body(callback_url: str, phone: str = "254708374149", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        **credentials(),
        "TransactionType": "CustomerPayBillOnline",
        "Amount": 4500,
        "PartyA": phone,
        "PartyB": SANDBOX_SHORTCODE,
        "PhoneNumber": phone,
        "CallBackURL": callback_url,
        "AccountReference": "JESH-42",
        "TransactionDesc": "Unit rental",
    }
    body.update(overrides)
    return body


def push(sim: httpx.Client, body: dict[str, Any], bearer: str | None = None) -> httpx.Response:
    bearer = bearer or token(sim)
    return sim.post("/mpesa/stkpush/v1/processrequest", json=body, headers={"Authorization": f"Bearer {bearer}"})


def query(sim: httpx.Client, checkout_request_id: str) -> httpx.Response:
    return sim.post(
        "/mpesa/stkpushquery/v1/query",
        json={**credentials(), "CheckoutRequestID": checkout_request_id},
        headers={"Authorization": f"Bearer {token(sim)}"},
    )


# --- OAuth ----------------------------------------------------------------------------------------
def test_token_is_issued_with_expires_in_as_a_string(sim: httpx.Client) -> None:
    r = sim.get("/oauth/v1/generate", params={"grant_type": "client_credentials"}, headers={"Authorization": BASIC})
    assert r.status_code == 200
    body = r.json()
    assert body["access_token"] and body["expires_in"] == "3599"


@pytest.mark.parametrize(
    ("params", "auth", "code"),
    [
        ({}, BASIC, "400.008.02"),
        ({"grant_type": "password"}, BASIC, "400.008.02"),
        ({"grant_type": "client_credentials"}, None, "400.008.01"),
        ({"grant_type": "client_credentials"}, "Basic " + base64.b64encode(b"key-only:").decode(), "400.008.01"),
        ({"grant_type": "client_credentials"}, "Basic !!!not-base64", "400.008.01"),
    ],
)
def test_token_refusals(sim: httpx.Client, params: dict[str, str], auth: str | None, code: str) -> None:
    headers = {"Authorization": auth} if auth else {}
    r = sim.get("/oauth/v1/generate", params=params, headers=headers)
    assert r.status_code == 400
    assert r.json()["errorCode"] == code and r.json()["requestId"]


def test_a_new_token_invalidates_the_previous_one(sim: httpx.Client, receiver: Receiver) -> None:
    first = token(sim)
    second = token(sim)
    r = push(sim, push_body(receiver.url), bearer=first)
    assert r.status_code == 404
    assert r.json()["errorCode"] == "404.001.03"
    assert r.json()["errorMessage"] == "Invalid Access Token"
    assert push(sim, push_body(receiver.url), bearer=second).status_code == 200


def test_strict_credentials_mode_accepts_only_the_configured_pair() -> None:
    from fastapi.testclient import TestClient

    app = create_app(SimSettings(accept_any_credentials=False, consumer_key="k", consumer_secret="s"))
    with TestClient(app) as client:
        good = "Basic " + base64.b64encode(b"k:s").decode()
        url = "/oauth/v1/generate?grant_type=client_credentials"
        assert client.get(url, headers={"Authorization": good}).is_success
        r = client.get(url, headers={"Authorization": BASIC})
        assert r.status_code == 400 and r.json()["errorCode"] == "400.008.01"


def test_push_without_a_bearer_token_is_refused(sim: httpx.Client, receiver: Receiver) -> None:
    r = sim.post("/mpesa/stkpush/v1/processrequest", json=push_body(receiver.url))
    assert r.status_code == 404 and r.json()["errorCode"] == "404.001.04"
    r = push(sim, push_body(receiver.url), bearer="made-up")
    assert r.status_code == 404 and r.json()["errorCode"] == "404.001.03"


# --- STK Push validation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"PhoneNumber": "0708374149"}, "Invalid PhoneNumber"),
        ({"PhoneNumber": "254808374149"}, "Invalid PhoneNumber"),
        ({"PhoneNumber": "2547083741490"}, "Invalid PhoneNumber"),
        ({"PartyA": "+254708374149"}, "Invalid PartyA"),
        ({"Amount": 10.5}, "Invalid Amount"),
        ({"Amount": 10.0}, "Invalid Amount"),
        ({"Amount": "10.5"}, "Invalid Amount"),
        ({"Amount": 0}, "Invalid Amount"),
        ({"Amount": 250_001}, "Invalid Amount"),
        ({"Amount": True}, "Invalid Amount"),
        ({"AccountReference": "ABCDEFGHIJKLM"}, "Invalid AccountReference"),
        ({"AccountReference": ""}, "Invalid AccountReference"),
        ({"TransactionDesc": "ABCDEFGHIJKLMN"}, "Invalid TransactionDesc"),
        ({"TransactionType": "CustomerPayBill"}, "Invalid TransactionType"),
        ({"CallBackURL": None}, "Invalid CallBackURL"),
        ({"CallBackURL": "not a url"}, "Invalid CallBackURL"),
        ({"CallBackURL": "https://example.co.ke/api/payments/mpesa/callback"}, "Invalid CallBackURL"),
        ({"BusinessShortCode": "600000"}, "Invalid BusinessShortCode"),
        ({"Timestamp": "2026-11-27 14:30"}, "Invalid Timestamp"),
        ({"Timestamp": "20261327143005"}, "Invalid Timestamp"),
        ({"PartyB": "abc"}, "Invalid PartyB"),
    ],
)
def test_push_validation_errors(sim: httpx.Client, receiver: Receiver, overrides: dict[str, Any], message: str) -> None:
    r = push(sim, push_body(receiver.url, **overrides))
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["errorCode"] == "400.002.02"
    assert body["errorMessage"] == f"Bad Request - {message}"
    assert body["requestId"]


def test_push_body_that_is_not_json_is_refused(sim: httpx.Client) -> None:
    r = sim.post(
        "/mpesa/stkpush/v1/processrequest",
        content=b"{oops",
        headers={"Authorization": f"Bearer {token(sim)}", "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["errorCode"] == "400.002.02"


def test_push_with_a_wrong_password_is_refused(sim: httpx.Client, receiver: Receiver) -> None:
    body = push_body(receiver.url)
    body["Password"] = base64.b64encode(b"174379wrongpasskey" + body["Timestamp"].encode()).decode()
    r = push(sim, body)
    assert r.status_code == 500
    assert r.json()["errorCode"] == "500.001.1001" and r.json()["errorMessage"] == "Wrong credentials"


def test_timestamp_in_utc_instead_of_nairobi_time_is_refused(sim: httpx.Client, receiver: Receiver) -> None:
    utc_stamp = (datetime.now(NAIROBI) - timedelta(hours=3)).strftime("%Y%m%d%H%M%S")
    r = push(sim, {**push_body(receiver.url), **credentials(utc_stamp)})
    assert r.status_code == 400 and r.json()["errorMessage"] == "Bad Request - Invalid Timestamp"


def test_push_accepts_whole_amounts_as_strings_and_2541_numbers(sim: httpx.Client, receiver: Receiver) -> None:
    r = push(sim, push_body(receiver.url, phone="254110000123", Amount="1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ResponseCode"] == "0"
    assert body["CheckoutRequestID"].startswith("ws_CO_")
    assert body["ResponseDescription"] == body["CustomerMessage"] == "Success. Request accepted for processing"


# --- outcomes, callbacks and query -----------------------------------------------------------------
def test_success_pending_query_then_callback_then_settled_query(sim: httpx.Client, receiver: Receiver) -> None:
    r = push(sim, push_body(receiver.url, phone="254708374149", Amount=4500))
    checkout = r.json()["CheckoutRequestID"]

    pending = query(sim, checkout)
    assert pending.status_code == 500
    assert pending.json()["errorCode"] == "500.001.1001"
    assert pending.json()["errorMessage"] == "The transaction is being processed"

    callbacks = wait_for(lambda: receiver.for_checkout(checkout), timeout=5, what="the callback")
    callback = callbacks[0]
    assert callback["ResultCode"] == 0
    assert callback["MerchantRequestID"] == r.json()["MerchantRequestID"]
    items = {i["Name"]: i.get("Value") for i in callback["CallbackMetadata"]["Item"]}
    assert items["Amount"] == 4500.0 and isinstance(items["Amount"], float)
    assert len(items["MpesaReceiptNumber"]) == 10
    assert items["PhoneNumber"] == 254708374149
    assert "Value" not in next(i for i in callback["CallbackMetadata"]["Item"] if i["Name"] == "Balance")
    assert len(str(items["TransactionDate"])) == 14

    settled = query(sim, checkout)
    assert settled.status_code == 200
    assert settled.json()["ResultCode"] == "0"
    assert settled.json()["ResponseCode"] == "0"
    assert settled.json()["CheckoutRequestID"] == checkout


@pytest.mark.parametrize(("phone", "code"), [("254708371032", 1032), ("254708370001", 1), ("254708372001", 2001)])
def test_failure_outcomes_by_phone(sim: httpx.Client, receiver: Receiver, phone: str, code: int) -> None:
    checkout = push(sim, push_body(receiver.url, phone=phone)).json()["CheckoutRequestID"]
    callback = wait_for(lambda: receiver.for_checkout(checkout), timeout=5, what="the callback")[0]
    assert callback["ResultCode"] == code
    assert "CallbackMetadata" not in callback
    assert query(sim, checkout).json()["ResultCode"] == str(code)


def test_unreachable_phone_calls_back_after_the_slower_delay(sim: httpx.Client, receiver: Receiver) -> None:
    started = time.monotonic()
    checkout = push(sim, push_body(receiver.url, phone="254708371037")).json()["CheckoutRequestID"]
    callback = wait_for(lambda: receiver.for_checkout(checkout), timeout=5, what="the callback")[0]
    assert time.monotonic() - started >= 0.75
    assert callback["ResultCode"] == 1037


def test_phone_ending_0000_succeeds_without_any_callback(sim: httpx.Client, receiver: Receiver) -> None:
    checkout = push(sim, push_body(receiver.url, phone="254708370000")).json()["CheckoutRequestID"]
    wait_for(lambda: query(sim, checkout).status_code == 200, timeout=5, what="settlement")
    assert query(sim, checkout).json()["ResultCode"] == "0"
    time.sleep(0.3)
    assert receiver.for_checkout(checkout) == []
    shown = sim.get(f"/simulator/transactions/{checkout}").json()
    assert shown["status"] == "settled" and shown["deliveries"] == [] and shown["MpesaReceiptNumber"]

    # the admin hook delivers it on demand
    r = sim.post(f"/simulator/callbacks/{checkout}/resend")
    assert r.status_code == 200 and r.json()["status_code"] == 200
    assert receiver.for_checkout(checkout)[0]["ResultCode"] == 0


def test_paybill_push_to_another_party_b_settles_with_2028(sim: httpx.Client, receiver: Receiver) -> None:
    checkout = push(sim, push_body(receiver.url, PartyB="600000")).json()["CheckoutRequestID"]
    assert wait_for(lambda: receiver.for_checkout(checkout), timeout=5, what="callback")[0]["ResultCode"] == 2028


def test_buy_goods_push_pays_the_till(sim: httpx.Client, receiver: Receiver) -> None:
    body = push_body(receiver.url, TransactionType="CustomerBuyGoodsOnline", PartyB="600000")
    checkout = push(sim, body).json()["CheckoutRequestID"]
    assert wait_for(lambda: receiver.for_checkout(checkout), timeout=5, what="callback")[0]["ResultCode"] == 0


def test_query_refusals(sim: httpx.Client) -> None:
    r = query(sim, "ws_CO_unknown")
    assert r.status_code == 400 and r.json()["errorMessage"] == "Bad Request - Invalid CheckoutRequestID"
    r = sim.post(
        "/mpesa/stkpushquery/v1/query",
        json={**credentials(), "Password": "bm9wZQ==", "CheckoutRequestID": "x"},
        headers={"Authorization": f"Bearer {token(sim)}"},
    )
    assert r.status_code == 500 and r.json()["errorMessage"] == "Wrong credentials"
    r = sim.post("/mpesa/stkpushquery/v1/query", json={**credentials(), "CheckoutRequestID": "x"})
    assert r.status_code == 404


def test_resend_of_unknown_or_pending_transactions(sim: httpx.Client, receiver: Receiver) -> None:
    assert sim.post("/simulator/callbacks/ws_CO_nope/resend").status_code == 404
    checkout = push(sim, push_body(receiver.url, phone="254708371037")).json()["CheckoutRequestID"]
    assert sim.post(f"/simulator/callbacks/{checkout}/resend").status_code == 409


def test_admin_listing_stats_and_token_revocation(sim: httpx.Client, receiver: Receiver) -> None:
    bearer = token(sim)
    checkout = push(sim, push_body(receiver.url), bearer=bearer).json()["CheckoutRequestID"]
    listed = sim.get("/simulator/transactions").json()["transactions"]
    assert any(t["CheckoutRequestID"] == checkout and t["Amount"] == 4500 for t in listed)
    stats = sim.get("/simulator/stats").json()
    assert stats["stk_pushes"] >= 1 and stats["tokens_issued"] >= 1
    assert sim.post("/simulator/tokens/revoke").json()["revoked"] >= 1
    assert push(sim, push_body(receiver.url), bearer=bearer).json()["errorCode"] == "404.001.03"


def test_callback_to_an_unreachable_url_is_recorded(sim: httpx.Client) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hooks/stk/x"
    checkout = push(sim, push_body(dead)).json()["CheckoutRequestID"]
    shown = wait_for(
        lambda: (t := sim.get(f"/simulator/transactions/{checkout}").json())["deliveries"] and t,
        timeout=5,
        what="a delivery attempt",
    )
    assert "error" in shown["deliveries"][0]


def test_a_held_phone_stays_processing_until_released(sim: httpx.Client, receiver: Receiver) -> None:
    phone = "254708371234"
    assert sim.post(f"/simulator/phones/{phone}/processing").status_code == 200
    checkout = push(sim, push_body(receiver.url, phone=phone)).json()["CheckoutRequestID"]
    time.sleep(0.5)  # well past the callback delay of this simulator
    still = query(sim, checkout)
    assert still.status_code == 500 and still.json()["errorCode"] == "500.001.1001"
    assert receiver.for_checkout(checkout) == []
    assert sim.get(f"/simulator/transactions/{checkout}").json()["status"] == "pending"

    released = sim.post(f"/simulator/phones/{phone}/release", json={"ResultCode": 1032})
    assert released.status_code == 200 and released.json()["settled"] == [checkout]
    answer = query(sim, checkout)
    assert answer.status_code == 200 and answer.json()["ResultCode"] == "1032"
    time.sleep(0.3)
    assert receiver.for_checkout(checkout) == []  # the held push's callback was lost for good

    # released: the phone's next push settles as usual (by its last four digits: success, with a callback)
    after = push(sim, push_body(receiver.url, phone=phone)).json()["CheckoutRequestID"]
    assert wait_for(lambda: receiver.for_checkout(after), timeout=5, what="callback")[0]["ResultCode"] == 0
    assert sim.post("/simulator/phones/not-a-phone/processing").status_code == 400
