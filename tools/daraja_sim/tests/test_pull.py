"""The simulator's Pull Transactions: registering a shortcode, listing its completed C2B payments by window and page."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from daraja_sim.app import create_app
from daraja_sim.c2b import C2BPayment
from daraja_sim.daraja import Daraja
from daraja_sim.settings import SimSettings
from jeshkit.mpesa import DARAJA_TIME
from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import wait_for

BASIC = "Basic " + base64.b64encode(b"some-key:some-secret").decode()
PAGE_SIZE = 2
EAT = "%Y-%m-%d %H:%M:%S"


class Receiver:
    """The business's ValidationURL (answering as its path says) and ConfirmationURL; records the confirmations."""

    def __init__(self) -> None:
        self.confirmed: list[str] = []
        self._lock = threading.Lock()
        app = FastAPI()

        @app.post("/hooks/validation/{answer}")
        async def validation(answer: str) -> dict[str, str]:
            return {"ResultCode": "0" if answer == "accept" else "C2B00012", "ResultDesc": answer}

        @app.post("/hooks/confirmation")
        async def confirmation(request: Request) -> dict[str, Any]:
            with self._lock:
                self.confirmed.append((await request.json())["TransID"])
            return {"ResultCode": 0, "ResultDesc": "Accepted"}

        self.server = LiveServer(app, free_port())
        self.base = f"http://127.0.0.1:{self.server.port}/hooks"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.stop()


@pytest.fixture(scope="module")
def daraja() -> Daraja:
    return Daraja(SimSettings(callback_delay_seconds=0.05, pull_page_size=PAGE_SIZE))


@pytest.fixture(scope="module")
def sim(daraja: Daraja) -> Iterator[httpx.Client]:
    server = LiveServer(create_app(daraja.settings, daraja=daraja), free_port())
    yield server.client
    server.stop()


def bearer(sim: httpx.Client) -> dict[str, str]:
    token = sim.get("/oauth/v1/generate", params={"grant_type": "client_credentials"},
                    headers={"Authorization": BASIC}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def register_pull(sim: httpx.Client, short_code: str, **overrides: Any) -> httpx.Response:
    body = {"ShortCode": short_code, "RequestType": "Pull", "NominatedNumber": "0722000000",
            "CallBackURL": "https://example.co.ke/pull", **overrides}
    return sim.post("/pulltransactions/v1/register", json=body, headers=bearer(sim))


def register_c2b(sim: httpx.Client, receiver: Receiver, short_code: str, validation: str = "accept") -> None:
    body = {"ShortCode": short_code, "ResponseType": "Completed", "ConfirmationURL": f"{receiver.base}/confirmation",
            "ValidationURL": f"{receiver.base}/validation/{validation}"}
    assert sim.post("/mpesa/c2b/v2/registerurl", json=body, headers=bearer(sim)).status_code == 200


def pay(sim: httpx.Client, daraja: Daraja, short_code: str, phone: str = "254708374149", **extra: Any) -> C2BPayment:
    """A customer pays; returns the simulator's payment once it has settled."""
    body = {"ShortCode": short_code, "CommandID": "CustomerPayBillOnline", "Amount": 4500, "Msisdn": phone,
            "BillRefNumber": "JESH-42", **extra}
    r = sim.post("/mpesa/c2b/v2/simulate", json=body, headers=bearer(sim))
    assert r.status_code == 200, r.text
    originator = r.json()["OriginatorCoversationID"]
    payment = next(p for p in daraja.c2b.payments.values() if p.originator_conversation_id == originator)
    wait_for(lambda: payment.status != "pending", what="the payment settled")
    return payment


def query(sim: httpx.Client, short_code: str, start: str, end: str, offset: Any = "0",
          method: str = "POST") -> httpx.Response:
    body = {"ShortCode": short_code, "StartDate": start, "EndDate": end, "OffSetValue": offset}
    return sim.request(method, "/pulltransactions/v1/query", json=body, headers=bearer(sim))


def eat(moment: datetime) -> str:
    return moment.astimezone(DARAJA_TIME).strftime(EAT)


def completed_at(payment: C2BPayment) -> datetime:
    assert payment.finalised_at is not None
    return payment.finalised_at.replace(microsecond=0)


def utc(payment: C2BPayment) -> str:
    return completed_at(payment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def listed(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    [rows] = answer.json()["Response"]
    return [r["transactionId"] for r in rows]


def every_page(sim: httpx.Client, short_code: str, start: str, end: str) -> list[str]:
    """Every row of the window, page after page until the answer is 1001."""
    found: list[str] = []
    for _ in range(10):
        r = query(sim, short_code, start, end, offset=len(found))
        if r.json()["ResponseCode"] == "1001":
            assert r.json()["Response"] == [[]]
            return found
        found += listed(r)
    raise AssertionError(f"no end to the pages: {found}")


# --- registration -------------------------------------------------------------------------------------
def test_a_shortcode_registers_once(sim: httpx.Client) -> None:
    r = register_pull(sim, "600100")
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["ResponseStatus"] == "1000" and first["ResponseDescription"] == "Shortcode Registered Successfully"
    assert first["ShortCode"] == "600100" and len(first["ResponseRefID"]) == 36

    again = register_pull(sim, 600100, CallBackURL="https://example.co.ke/other")
    assert again.status_code == 200, again.text
    assert again.json()["ResponseStatus"] == "1001" and again.json()["ShortCode"] == "600100"
    assert again.json()["ResponseDescription"] == "ShortCode already Registered"
    [registration] = [r for r in sim.get("/simulator/pull").json()["registrations"] if r["ShortCode"] == "600100"]
    assert registration["CallBackURL"] == "https://example.co.ke/pull"  # the first registration stays
    assert registration["ResponseRefID"] == first["ResponseRefID"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ShortCode": None}, "Invalid ShortCode"),
        ({"ShortCode": "60010a"}, "Invalid ShortCode"),
        ({"RequestType": "pull"}, "Invalid RequestType"),
        ({"RequestType": None}, "Invalid RequestType"),
        ({"NominatedNumber": None}, "Invalid NominatedNumber"),
        ({"NominatedNumber": "722000000"}, "Invalid NominatedNumber"),
        ({"CallBackURL": None}, "Invalid CallBackURL"),
        ({"CallBackURL": "https://example.co.ke/mpesa/pull"}, "Invalid CallBackURL"),
    ],
)
def test_registration_refusals(sim: httpx.Client, overrides: dict[str, Any], message: str) -> None:
    body = {"ShortCode": "600900", "RequestType": "Pull", "NominatedNumber": "254722000000",
            "CallBackURL": "https://example.co.ke/p", **overrides}
    body = {k: v for k, v in body.items() if v is not None}
    r = sim.post("/pulltransactions/v1/register", json=body, headers=bearer(sim))
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "400.002.02" and r.json()["errorMessage"] == f"Bad Request - {message}"
    assert "600900" not in [r["ShortCode"] for r in sim.get("/simulator/pull").json()["registrations"]]


# --- querying -----------------------------------------------------------------------------------------
def test_paid_and_lost_confirmation_payments_are_listed(sim: httpx.Client, daraja: Daraja, receiver: Receiver) -> None:
    register_c2b(sim, receiver, "600200")
    assert register_pull(sim, "600200").json()["ResponseStatus"] == "1000"
    paid = pay(sim, daraja, "600200", phone="254708374149", Amount=4500, BillRefNumber="JESH-42")
    lost = pay(sim, daraja, "600200", phone="254711110000", Amount="233", CommandID="CustomerBuyGoodsOnline")
    assert paid.status == lost.status == "completed"
    wait_for(lambda: paid.trans_id in receiver.confirmed, what="the confirmation")
    time.sleep(0.2)
    assert lost.trans_id not in receiver.confirmed  # its confirmation never came: Pull is how it is found

    window = (eat(datetime.now(UTC) - timedelta(hours=1)), eat(datetime.now(UTC) + timedelta(minutes=1)))
    r = query(sim, "600200", *window)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["ResponseCode"] == "1000" and answer["ResponseMessage"] == "Success"
    assert len(answer["ResponseRefID"]) == 36
    assert answer["Response"] == [[
        {"transactionId": paid.trans_id, "trxDate": utc(paid), "msisdn": 254708374149, "sender": "UNKNOWN",
         "transactiontype": "c2b-pay-bill-debit", "billreference": "JESH-42", "amount": "4500.0",
         "organizationname": "Jesh Storage"},
        {"transactionId": lost.trans_id, "trxDate": utc(lost), "msisdn": 254711110000, "sender": "UNKNOWN",
         "transactiontype": "c2b-buy-goods-debit", "billreference": "", "amount": "233.0",
         "organizationname": "Jesh Storage"},
    ]]
    by_get = query(sim, "600200", *window, method="GET").json()  # the documentation's GET with a body
    assert by_get["Response"] == answer["Response"] and by_get["ResponseRefID"] != answer["ResponseRefID"]

    # a payment the business's validation refused never happened: not listed
    register_c2b(sim, receiver, "600200", validation="reject")
    refused = pay(sim, daraja, "600200")
    assert refused.status == "rejected"
    assert every_page(sim, "600200", *window) == [paid.trans_id, lost.trans_id]


def test_the_window_the_48_hours_and_the_pages(sim: httpx.Client, daraja: Daraja, receiver: Receiver) -> None:
    register_c2b(sim, receiver, "600300")
    register_pull(sim, "600300")
    payments = [pay(sim, daraja, "600300", Amount=100 + n) for n in range(5)]
    now = datetime.now(UTC).replace(microsecond=0)
    # completion times, set so that completion order is not the order of paying: the last paid completed first
    hours = [1, 2, 3, 47, 49]  # the last: more than 48 hours ago, never listed
    for payment, ago in zip(payments, hours, strict=True):
        payment.finalised_at = (now - timedelta(hours=ago)).astimezone(DARAJA_TIME).replace(microsecond=400_000)
    third, second, first, oldest, too_old = payments

    assert too_old.status == "completed"  # completed, but more than 48 hours ago: never listed
    everything = (eat(now - timedelta(days=5)), eat(now + timedelta(minutes=1)))
    assert listed(query(sim, "600300", *everything)) == [oldest.trans_id, first.trans_id]
    assert listed(query(sim, "600300", *everything, offset=2)) == [second.trans_id, third.trans_id]
    assert listed(query(sim, "600300", *everything, offset=3)) == [third.trans_id]
    past_the_end = query(sim, "600300", *everything, offset=4)
    assert past_the_end.json()["ResponseCode"] == "1001" and past_the_end.json()["Response"] == [[]]

    # both ends are in, to the second (the completion's fraction of a second does not push it out)
    at_second = eat(completed_at(second))
    assert listed(query(sim, "600300", at_second, at_second)) == [second.trans_id]
    between = (eat(now - timedelta(hours=3)), eat(now - timedelta(hours=1)))
    assert listed(query(sim, "600300", *between)) == [first.trans_id, second.trans_id]
    between_next = query(sim, "600300", *between, offset=2)
    assert listed(between_next) == [third.trans_id]
    inside = (eat(now - timedelta(hours=3) + timedelta(seconds=1)), eat(now - timedelta(hours=1, seconds=1)))
    assert listed(query(sim, "600300", *inside)) == [second.trans_id]
    around_too_old = (eat(now - timedelta(hours=50)), eat(now - timedelta(hours=48, seconds=1)))
    assert query(sim, "600300", *around_too_old).json()["ResponseCode"] == "1001"


def test_an_empty_window_and_the_date_forms(sim: httpx.Client, daraja: Daraja, receiver: Receiver) -> None:
    register_c2b(sim, receiver, "600400")
    register_pull(sim, "600400")
    pay(sim, daraja, "600400")
    r = query(sim, "600400", "2020-08-04 8:36:00", "2020-08-16 10:10", offset=0)
    assert r.status_code == 200, r.text
    assert r.json()["ResponseCode"] == "1001" and r.json()["Response"] == [[]]
    assert r.json()["ResponseMessage"] == "No transactions available for the selected time period"
    # minutes only, one-digit hours: now is inside the day
    today = datetime.now(DARAJA_TIME)
    start, end = f"{today:%Y-%m-%d} 0:00", f"{today + timedelta(days=1):%Y-%m-%d} 0:00"
    assert query(sim, "600400", start, end).json()["ResponseCode"] == "1000"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"StartDate": "2020-08-04"}, "Invalid StartDate"),
        ({"StartDate": "04/08/2020 10:00"}, "Invalid StartDate"),
        ({"StartDate": "2020-08-04T10:00:00"}, "Invalid StartDate"),
        ({"StartDate": "2020-02-30 10:00"}, "Invalid StartDate"),
        ({"EndDate": "2020-08-16 24:00"}, "Invalid EndDate"),
        ({"EndDate": "2020-08-03 10:00"}, "Invalid EndDate"),  # before the start
        ({"OffSetValue": "-1"}, "Invalid OffSetValue"),
        ({"OffSetValue": None}, "Invalid OffSetValue"),
        ({"ShortCode": "60050x"}, "Invalid ShortCode"),
    ],
)
def test_query_refusals(sim: httpx.Client, overrides: dict[str, Any], message: str) -> None:
    register_pull(sim, "600500")
    body = {"ShortCode": "600500", "StartDate": "2020-08-04 8:36:00", "EndDate": "2020-08-16 10:10:00",
            "OffSetValue": "0", **overrides}
    r = sim.post("/pulltransactions/v1/query", json={k: v for k, v in body.items() if v is not None},
                 headers=bearer(sim))
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "400.002.02" and r.json()["errorMessage"] == f"Bad Request - {message}"


def test_an_unregistered_shortcode_and_no_token(sim: httpx.Client, daraja: Daraja, receiver: Receiver) -> None:
    register_c2b(sim, receiver, "600600")
    pay(sim, daraja, "600600")  # C2B payments, but the shortcode never registered for Pull
    r = query(sim, "600600", "2020-08-04 8:36:00", eat(datetime.now(UTC) + timedelta(minutes=1)))
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "400.001" and r.json()["errorMessage"] == "Invalid ShortCode"

    body = {"ShortCode": "600600", "StartDate": "2020-08-04 8:36:00", "EndDate": "2020-08-16 10:10:00",
            "OffSetValue": "0"}
    for path in ("/pulltransactions/v1/query", "/pulltransactions/v1/register"):
        r = sim.post(path, json=body)  # like every Daraja API here: 404.001.04 without a Bearer token
        assert r.status_code == 404 and r.json()["errorCode"] == "404.001.04", r.text
        r = sim.post(path, json=body, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 404 and r.json()["errorCode"] == "404.001.03", r.text
    assert "600600" not in [r["ShortCode"] for r in sim.get("/simulator/pull").json()["registrations"]]
