"""The simulator's B2C: validation, outcome by phone, result at ResultURL, one payout per OriginatorConversationID;
and the delaying proxy."""

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
from daraja_sim.proxy import delaying_proxy
from daraja_sim.settings import SimSettings
from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import wait_for

BASIC = "Basic " + base64.b64encode(b"some-key:some-secret").decode()


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        app = FastAPI()

        @app.post("/hooks/b2c/{kind}/{token}")
        async def hook(kind: str, token: str, request: Request) -> dict[str, Any]:
            with self._lock:
                self.received.append((kind, await request.json()))
            return {"ResultCode": 0, "ResultDesc": "Success"}

        self.server = LiveServer(app, free_port())
        self.base = f"http://127.0.0.1:{self.server.port}/hooks/b2c"

    def results(self, originator: str) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return [(k, b) for k, b in self.received if b["Result"]["OriginatorConversationID"] == originator]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.stop()


@pytest.fixture(scope="module")
def sim() -> Iterator[LiveServer]:
    server = LiveServer(create_app(SimSettings(callback_delay_seconds=0.1)), free_port())
    yield server
    server.stop()


def pay_out(sim: httpx.Client, receiver: Receiver, originator: str, phone: str = "254708374149", **extra: Any) -> Any:
    token = sim.get("/oauth/v1/generate", params={"grant_type": "client_credentials"},
                    headers={"Authorization": BASIC}).json()["access_token"]
    body = {"OriginatorConversationID": originator, "InitiatorName": "testapi", "SecurityCredential": "c2VjcmV0",
            "CommandID": "BusinessPayment", "Amount": 1500, "PartyA": "600000", "PartyB": phone,
            "Remarks": "Refund", "QueueTimeOutURL": f"{receiver.base}/timeout/t1",
            "ResultURL": f"{receiver.base}/result/t1", "Occasion": "Refund", **extra}
    return sim.post("/mpesa/b2c/v3/paymentrequest", json=body, headers={"Authorization": f"Bearer {token}"})


def test_a_payout_is_accepted_then_its_result_posted_once_whatever_the_repeats(
    sim: LiveServer, receiver: Receiver
) -> None:
    first = pay_out(sim.client, receiver, "orig-1")
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["ResponseCode"] == "0" and answer["OriginatorConversationID"] == "orig-1"
    assert answer["ConversationID"].startswith("AG_")
    again = pay_out(sim.client, receiver, "orig-1")
    assert again.json() == answer  # the same id again: the first answer, nothing paid twice
    [(kind, body)] = wait_for(lambda: receiver.results("orig-1"), what="the result")
    time.sleep(0.3)
    assert len(receiver.results("orig-1")) == 1
    result = body["Result"]
    assert kind == "result" and result["ResultCode"] == 0 and result["ConversationID"] == answer["ConversationID"]
    parameters = {p["Key"]: p["Value"] for p in result["ResultParameters"]["ResultParameter"]}
    assert parameters["TransactionAmount"] == 1500 and parameters["TransactionReceipt"] == result["TransactionID"]
    payouts = sim.client.get("/simulator/payouts").json()
    assert [p["OriginatorConversationID"] for p in payouts["payouts"]].count("orig-1") == 1


def test_phones_pick_failure_and_queue_timeout(sim: LiveServer, receiver: Receiver) -> None:
    assert pay_out(sim.client, receiver, "orig-fail", phone="254708379999").status_code == 200
    [(kind, body)] = wait_for(lambda: receiver.results("orig-fail"), what="the failure")
    assert kind == "result" and body["Result"]["ResultCode"] == 2040 and "ResultParameters" not in body["Result"]
    assert pay_out(sim.client, receiver, "orig-queue", phone="254708379998").status_code == 200
    [(kind, body)] = wait_for(lambda: receiver.results("orig-queue"), what="the queue timeout")
    assert kind == "timeout"


@pytest.mark.parametrize(
    ("field", "value"),
    [("Amount", 10.5), ("PartyB", "0708374149"), ("CommandID", "Steal"), ("ResultURL", "http://x/mpesa"),
     ("OriginatorConversationID", ""), ("SecurityCredential", "")],
)
def test_bad_payout_requests_are_refused_like_daraja(
    sim: LiveServer, receiver: Receiver, field: str, value: Any
) -> None:
    r = pay_out(sim.client, receiver, f"orig-bad-{field}", **{field: value})
    assert r.status_code == 400 and r.json()["errorCode"] == "400.002.02"


def test_the_proxy_forwards_and_holds_the_chosen_answers(sim: LiveServer) -> None:
    proxy = LiveServer(delaying_proxy(sim.client.base_url.__str__(), {"/healthz": 0.6}), free_port())
    try:
        started = time.monotonic()
        assert proxy.client.get("/healthz").json() == {"status": "ok"}
        assert time.monotonic() - started >= 0.6
        assert proxy.client.get("/simulator/stats").status_code == 200
    finally:
        proxy.stop()


def status_query(sim: LiveServer, receiver: Receiver, token: str, **by: str) -> httpx.Response:
    body = {"Initiator": "testapi", "SecurityCredential": "c2VjcmV0", "CommandID": "TransactionStatusQuery",
            "PartyA": "600000", "IdentifierType": "4", "ResultURL": f"{receiver.base}/status/{token}",
            "QueueTimeOutURL": f"{receiver.base}/status/{token}", "Remarks": "Refund status", "Occasion": "", **by}
    bearer = sim.client.get("/oauth/v1/generate", params={"grant_type": "client_credentials"},
                            headers={"Authorization": BASIC}).json()["access_token"]
    return sim.client.post("/mpesa/transactionstatus/v1/query", json=body,
                           headers={"Authorization": f"Bearer {bearer}"})


def test_a_lost_result_is_told_by_the_transaction_status_query(sim: LiveServer, receiver: Receiver) -> None:
    assert pay_out(sim.client, receiver, "orig-lost", phone="254708379997").status_code == 200
    time.sleep(0.4)
    assert receiver.results("orig-lost") == []  # paid, but its result never comes
    payout = next(p for p in sim.client.get("/simulator/payouts").json()["payouts"]
                  if p["OriginatorConversationID"] == "orig-lost")

    answer = status_query(sim, receiver, "s1", OriginalConversationID="orig-lost")
    assert answer.status_code == 200 and answer.json()["ResponseCode"] == "0"
    mine = answer.json()["OriginatorConversationID"]
    [(kind, body)] = wait_for(lambda: receiver.results(mine), what="the status result")
    parameters = {p["Key"]: p["Value"] for p in body["Result"]["ResultParameters"]["ResultParameter"]}
    assert kind == "status" and body["Result"]["ResultCode"] == 0
    assert parameters["TransactionStatus"] == "Completed" and parameters["ReceiptNo"] == payout["TransactionReceipt"]
    assert parameters["Amount"] == 1500 and parameters["OriginatorConversationID"] == "orig-lost"

    unknown = status_query(sim, receiver, "s2", OriginalConversationID="never-sent").json()["OriginatorConversationID"]
    [(_, body)] = wait_for(lambda: receiver.results(unknown), what="the not-found result")
    assert body["Result"]["ResultCode"] != 0 and "ResultParameters" not in body["Result"]
    assert status_query(sim, receiver, "s3").status_code == 400  # neither an id nor a receipt
