"""The simulator's C2B: URL registration, a customer paying, validation, confirmation, Transaction Status."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from daraja_sim.app import create_app
from daraja_sim.settings import SimSettings
from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import wait_for

BASIC = "Basic " + base64.b64encode(b"some-key:some-secret").decode()
ANSWERS = {"accept": {"ResultCode": "0", "ResultDesc": "Accepted"},
           "reject": {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}}


class Receiver:
    """The business's ValidationURL (answering as its path says) and ConfirmationURL; records every POST."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        app = FastAPI()

        @app.post("/hooks/c2b/validation/{answer}")
        async def validation(answer: str, request: Request) -> dict[str, Any]:
            with self._lock:
                self.received.append(("validation", await request.json()))
            return ANSWERS[answer]

        @app.post("/hooks/c2b/confirmation/{token}")
        async def confirmation(token: str, request: Request) -> dict[str, Any]:
            with self._lock:
                self.received.append(("confirmation", await request.json()))
            return {"ResultCode": 0, "ResultDesc": "Accepted"}

        self.server = LiveServer(app, free_port())
        self.base = f"http://127.0.0.1:{self.server.port}/hooks/c2b"

    def posts(self, trans_id: str, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [b for k, b in self.received if k == kind and b["TransID"] == trans_id]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.stop()


@pytest.fixture(scope="module")
def sim() -> Iterator[httpx.Client]:
    server = LiveServer(create_app(SimSettings(callback_delay_seconds=0.1)), free_port())
    yield server.client
    server.stop()


def bearer(sim: httpx.Client) -> dict[str, str]:
    token = sim.get("/oauth/v1/generate", params={"grant_type": "client_credentials"},
                    headers={"Authorization": BASIC}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def register(sim: httpx.Client, short_code: str, validation_url: str, confirmation_url: str,
             response_type: str = "Completed") -> httpx.Response:
    body = {"ShortCode": short_code, "ResponseType": response_type, "ConfirmationURL": confirmation_url,
            "ValidationURL": validation_url}
    return sim.post("/mpesa/c2b/v2/registerurl", json=body, headers=bearer(sim))


def pay(sim: httpx.Client, short_code: str, phone: Any = "254708374149", **extra: Any) -> dict[str, Any]:
    """Simulate a payment; returns the simulator's record of it (admin view), found by the answer's id."""
    body = {"ShortCode": short_code, "CommandID": "CustomerPayBillOnline", "Amount": 4500, "Msisdn": phone,
            "BillRefNumber": "JESH-42", **extra}
    r = sim.post("/mpesa/c2b/v2/simulate", json=body, headers=bearer(sim))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["ResponseCode"] == "0"
    assert answer["ResponseDescription"] == "Accept the service request successfully."
    return payment_of(sim, answer["OriginatorCoversationID"])


def payment_of(sim: httpx.Client, originator: str) -> dict[str, Any]:
    listed = sim.get("/simulator/c2b").json()["transactions"]
    return next(t for t in listed if t["OriginatorCoversationID"] == originator)


def settled(sim: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    def now() -> dict[str, Any] | None:
        current = payment_of(sim, payment["OriginatorCoversationID"])
        return current if current["status"] != "pending" else None

    return wait_for(now, what="the payment settled")


class StatusResults:
    """Transaction Status's ResultURL."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}
        app = FastAPI()

        @app.post("/hooks/status/{token}")
        async def hook(token: str, request: Request) -> dict[str, Any]:
            self.results[token] = (await request.json())["Result"]
            return {"ResultCode": 0, "ResultDesc": "Success"}

        self.server = LiveServer(app, free_port())

    def ask(self, sim: httpx.Client, trans_id: str, party_a: str, token: str) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.server.port}/hooks/status/{token}"
        body = {"Initiator": "testapi", "SecurityCredential": "c2VjcmV0", "CommandID": "TransactionStatusQuery",
                "TransactionID": trans_id, "PartyA": party_a, "IdentifierType": "4", "ResultURL": url,
                "QueueTimeOutURL": url, "Remarks": "C2B check", "Occasion": ""}
        r = sim.post("/mpesa/transactionstatus/v1/query", json=body, headers=bearer(sim))
        assert r.status_code == 200, r.text
        return wait_for(lambda: self.results.get(token), what="the status result")


@pytest.fixture(scope="module")
def status() -> Iterator[StatusResults]:
    s = StatusResults()
    yield s
    s.server.stop()


def parameters(result: dict[str, Any]) -> dict[str, Any]:
    return {p["Key"]: p["Value"] for p in result["ResultParameters"]["ResultParameter"]}


# --- registration -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ConfirmationURL": "https://example.co.ke/api/mpesa/confirm"}, "Invalid ConfirmationURL"),
        ({"ValidationURL": "https://example.co.ke/M-PESA/validate"}, "Invalid ValidationURL"),
        ({"ValidationURL": "ftp://example.co.ke/validate"}, "Invalid ValidationURL"),
        ({"ResponseType": "completed"}, "Invalid ResponseType"),
        ({"ResponseType": "CANCELLED"}, "Invalid ResponseType"),
        ({"ShortCode": "17437a"}, "Invalid ShortCode"),
    ],
)
def test_registration_refusals(sim: httpx.Client, overrides: dict[str, str], message: str) -> None:
    body = {"ShortCode": "174379", "ResponseType": "Completed", "ConfirmationURL": "https://example.co.ke/c",
            "ValidationURL": "https://example.co.ke/v", **overrides}
    r = sim.post("/mpesa/c2b/v2/registerurl", json=body, headers=bearer(sim))
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "400.002.02" and r.json()["errorMessage"] == f"Bad Request - {message}"
    assert r.json()["requestId"]


def test_registration_answers_like_daraja_and_needs_a_token(sim: httpx.Client) -> None:
    body = {"ShortCode": 600100, "ResponseType": "Cancelled", "ConfirmationURL": "https://example.co.ke/c",
            "ValidationURL": "https://example.co.ke/v"}
    r = sim.post("/mpesa/c2b/v1/registerurl", json=body, headers=bearer(sim))
    assert r.status_code == 200, r.text
    assert r.json()["ResponseCode"] == "0" and r.json()["ResponseDescription"] == "Success"
    assert r.json()["OriginatorCoversationID"]  # Safaricom's spelling
    assert sim.post("/mpesa/c2b/v2/registerurl", json=body).json()["errorCode"] == "404.001.04"


# --- paying -------------------------------------------------------------------------------------------
def test_a_payment_is_validated_then_confirmed(sim: httpx.Client, receiver: Receiver, status: StatusResults) -> None:
    assert register(sim, "174379", f"{receiver.base}/validation/accept", f"{receiver.base}/confirmation/t1"
                    ).status_code == 200
    payment = pay(sim, "174379", phone=254708374149)
    trans_id = payment["TransID"]
    [confirmation] = wait_for(lambda: receiver.posts(trans_id, "confirmation"), what="the confirmation")
    [validation] = receiver.posts(trans_id, "validation")
    assert validation["OrgAccountBalance"] == ""
    assert {k: v for k, v in validation.items() if k != "OrgAccountBalance"} == {
        k: v for k, v in confirmation.items() if k != "OrgAccountBalance"}
    assert confirmation["TransAmount"] == "4500.00" and confirmation["MSISDN"] == "2547 ***** 149"
    assert confirmation["TransactionType"] == "Pay Bill" and confirmation["BusinessShortCode"] == "174379"
    assert confirmation["BillRefNumber"] == "JESH-42" and confirmation["InvoiceNumber"] == ""
    assert confirmation["ThirdPartyTransID"] == "" and confirmation["MiddleName"] == ""
    assert confirmation["FirstName"].isupper() and confirmation["LastName"].isupper()
    assert len(trans_id) == 10 and trans_id.isupper() and len(confirmation["TransTime"]) == 14
    balance = confirmation["OrgAccountBalance"]
    assert balance.endswith(".00") and float(balance) >= 4500

    result = status.ask(sim, trans_id, "174379", "ok")
    found = parameters(result)
    assert result["ResultCode"] == 0 and found["TransactionStatus"] == "Completed" and found["Amount"] == 4500
    assert found["ReceiptNo"] == trans_id and found["ReasonType"] == "Pay Bill Online"
    name = f"{confirmation['FirstName']} {confirmation['LastName']}"
    assert found["DebitPartyName"] == f"254708374149 - {name}"
    assert found["CreditPartyName"] == "174379 - Jesh Storage"
    assert {"InitiatedTime", "FinalisedTime", "OriginatorConversationID", "ConversationID"} <= found.keys()
    # another shortcode cannot see this payment
    assert status.ask(sim, trans_id, "600000", "other-shortcode")["ResultCode"] == 1

    # the same number: the same name; the balance runs on
    again = pay(sim, "174379", phone="254708374149", Amount="500")
    [second] = wait_for(lambda: receiver.posts(again["TransID"], "confirmation"), what="the second confirmation")
    assert (second["FirstName"], second["LastName"]) == (confirmation["FirstName"], confirmation["LastName"])
    assert float(second["OrgAccountBalance"]) == float(balance) + 500


def test_a_payment_the_validation_refuses_never_happened(
    sim: httpx.Client, receiver: Receiver, status: StatusResults
) -> None:
    assert register(sim, "600200", f"{receiver.base}/validation/reject", f"{receiver.base}/confirmation/t2"
                    ).status_code == 200
    payment = settled(sim, pay(sim, "600200"))
    assert payment["status"] == "rejected" and payment["ResultCode"] == "C2B00012"
    assert len(receiver.posts(payment["TransID"], "validation")) == 1
    time.sleep(0.3)
    assert receiver.posts(payment["TransID"], "confirmation") == []
    result = status.ask(sim, payment["TransID"], "600200", "rejected")
    assert result["ResultCode"] == 1 and "ResultParameters" not in result


@pytest.mark.parametrize(("response_type", "outcome"), [("Cancelled", "rejected"), ("Completed", "completed")])
def test_an_unreachable_validation_url_applies_the_response_type(
    sim: httpx.Client, receiver: Receiver, response_type: str, outcome: str
) -> None:
    short_code = {"Cancelled": "600301", "Completed": "600302"}[response_type]
    dead = f"http://127.0.0.1:{free_port()}/validate"
    assert register(sim, short_code, dead, f"{receiver.base}/confirmation/t3", response_type).status_code == 200
    payment = settled(sim, pay(sim, short_code))
    assert payment["status"] == outcome and "error" in payment["validation"]
    if outcome == "completed":
        wait_for(lambda: receiver.posts(payment["TransID"], "confirmation"), what="the confirmation")
    else:
        time.sleep(0.3)
        assert receiver.posts(payment["TransID"], "confirmation") == []


def test_a_lost_confirmation_is_found_by_transaction_status_and_resent(
    sim: httpx.Client, receiver: Receiver, status: StatusResults
) -> None:
    assert register(sim, "174379", f"{receiver.base}/validation/accept", f"{receiver.base}/confirmation/t4"
                    ).status_code == 200
    payment = settled(sim, pay(sim, "174379", phone="254711110000", Amount=1200))
    trans_id = payment["TransID"]
    assert payment["status"] == "completed"
    time.sleep(0.3)
    assert receiver.posts(trans_id, "confirmation") == []  # lost
    found = parameters(status.ask(sim, trans_id, "174379", "lost"))
    assert found["TransactionStatus"] == "Completed" and found["Amount"] == 1200
    assert found["DebitPartyName"].startswith("254711110000 - ")

    for _ in range(2):  # Safaricom repeats confirmations: the same TransID each time
        r = sim.post(f"/simulator/c2b/{trans_id}/resend")
        assert r.status_code == 200 and r.json()["status_code"] == 200
    sent = receiver.posts(trans_id, "confirmation")
    assert len(sent) == 2 and sent[0] == sent[1] and sent[0]["TransAmount"] == "1200.00"
    assert sim.post("/simulator/c2b/NOSUCHID00/resend").status_code == 404


def test_the_admin_pay_path_behaves_like_simulate_without_a_token(sim: httpx.Client, receiver: Receiver) -> None:
    assert register(sim, "600400", f"{receiver.base}/validation/accept", f"{receiver.base}/confirmation/t5"
                    ).status_code == 200
    body = {"ShortCode": "600400", "CommandID": "CustomerBuyGoodsOnline", "Amount": 300, "Msisdn": "254110000123",
            "BillRefNumber": "ignored"}
    assert sim.post("/mpesa/c2b/v2/simulate", json=body).json()["errorCode"] == "404.001.04"
    r = sim.post("/simulator/c2b/pay", json=body)
    assert r.status_code == 200 and r.json()["ResponseCode"] == "0"
    payment = payment_of(sim, r.json()["OriginatorCoversationID"])
    [confirmation] = wait_for(lambda: receiver.posts(payment["TransID"], "confirmation"), what="the confirmation")
    assert confirmation["TransactionType"] == "Buy Goods" and confirmation["BillRefNumber"] == ""
    assert confirmation["MSISDN"] == "2541 ***** 123"
    stats = sim.get("/simulator/stats").json()
    assert stats["c2b_payments"] >= 1 and stats["c2b_completed"] >= 1 and stats["c2b_registrations"] >= 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Amount": 10.5}, "Invalid Amount"),
        ({"Amount": 250_001}, "Invalid Amount"),
        ({"Msisdn": "0708374149"}, "Invalid Msisdn"),
        ({"CommandID": "CustomerPayBill"}, "Invalid CommandID"),
        ({"CommandID": ["CustomerPayBillOnline"]}, "Invalid CommandID"),
        ({"BillRefNumber": ""}, "Invalid BillRefNumber"),
        ({"ShortCode": "999999"}, "Invalid ShortCode"),  # no URLs registered
    ],
)
def test_simulate_refusals(sim: httpx.Client, overrides: dict[str, Any], message: str) -> None:
    body = {"ShortCode": "174379", "CommandID": "CustomerPayBillOnline", "Amount": 4500, "Msisdn": "254708374149",
            "BillRefNumber": "JESH-42", **overrides}
    r = sim.post("/mpesa/c2b/v1/simulate", json=body, headers=bearer(sim))
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "400.002.02" and r.json()["errorMessage"] == f"Bad Request - {message}"


def test_without_external_validation_only_the_confirmation_comes(receiver: Receiver) -> None:
    server = LiveServer(create_app(SimSettings(callback_delay_seconds=0.1, c2b_validation=False)), free_port())
    try:
        assert register(server.client, "174379", f"{receiver.base}/validation/reject",
                        f"{receiver.base}/confirmation/t6").status_code == 200
        payment = pay(server.client, "174379")
        wait_for(lambda: receiver.posts(payment["TransID"], "confirmation"), what="the confirmation")
        assert receiver.posts(payment["TransID"], "validation") == []
    finally:
        server.stop()
