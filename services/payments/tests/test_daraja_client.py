"""The Daraja client against the simulator over HTTP, the wire-format helpers, reasons and settings."""

from __future__ import annotations

import base64
import socket
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from jeshkit.mpesa import stk_password
from jeshkit.mpesa import stk_timestamp as daraja_timestamp
from payments.daraja import DarajaClient, TokenFetch
from payments.daraja_wire import (
    as_decimal,
    normalize_phone,
    parse_b2c_result,
    parse_b2c_status,
    parse_c2b,
    parse_pulled,
    parse_stk_callback,
)
from payments.providers import ProviderRefused as DarajaRefused
from payments.providers import ProviderUnavailable as DarajaUnavailable
from payments.providers import ProviderUncertain
from payments.result_codes import REASONS, reason_for
from payments.settings import SANDBOX_PASSKEY, Settings

CALLBACK_URL = "http://127.0.0.1:9/api/payments/hooks/stk/abc"


class ProcessTokenStore:
    """One process on its own (these tests of the client): fetch whenever asked."""

    def obtain(self, fetch: TokenFetch, *, stale: str | None, margin: float) -> tuple[str, float]:
        token, expires_in = fetch()
        return token, time.time() + expires_in - min(margin, expires_in / 2)


@pytest.fixture
def http() -> Any:
    with httpx.Client() as client:
        yield client


def client_for(http: httpx.Client, base_url: str, **overrides: Any) -> DarajaClient:
    options: dict[str, Any] = {
        "base_url": base_url,
        "consumer_key": "key",
        "consumer_secret": "secret",
        "shortcode": "174379",
        "passkey": SANDBOX_PASSKEY,
        "timeout": 5.0,
        "token_store": ProcessTokenStore(),
    }
    options.update(overrides)
    return DarajaClient(http, **options)


def push(client: DarajaClient, phone: str = "254708374149", amount: int = 10) -> Any:
    return client.stk_push(
        amount=amount,
        phone_number=phone,
        callback_url=CALLBACK_URL,
        account_reference="JESH-1",
        transaction_desc="Unit rental",
        transaction_type="CustomerPayBillOnline",
        party_b="174379",
    )


# --- helpers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0708374149", "254708374149"),
        ("0112345678", "254112345678"),
        ("+254708374149", "254708374149"),
        ("254708374149", "254708374149"),
        ("254 708-374 149", "254708374149"),
        ("708374149", "254708374149"),
        (254708374149, "254708374149"),
        ("0808374149", None),
        ("2547083741", None),
        ("25470837414900", None),
        ("abc", None),
        ("07\u0660\u0668\u0663\u0667\u0664\u0661\u0664\u0669", None),  # Arabic-Indic digits: not for Daraja
        ("2547\u0660\u0668\u0663\u0667\u0664\u0661\u0664\u0669", None),
        ("", None),
        (True, None),
        (None, None),
    ],
)
def test_normalize_phone(raw: Any, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_timestamp_is_nairobi_time_and_password_is_base64_of_code_passkey_timestamp() -> None:
    assert daraja_timestamp(datetime(2026, 12, 31, 21, 30, 5, tzinfo=UTC)) == "20270101003005"
    password = stk_password("174379", "pk", "20270101003005")
    assert base64.b64decode(password) == b"174379pk20270101003005"


def test_parse_the_reference_success_callback() -> None:
    body = {"Body": {"stkCallback": {
        "MerchantRequestID": "29115-34620561-1", "CheckoutRequestID": "ws_CO_191220191020363925",
        "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "PhoneNumber", "Value": 254708374149},  # order does not matter
            {"Name": "Amount", "Value": 4500.00}, {"Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV"},
            {"Name": "Balance"}, {"Name": "TransactionDate", "Value": 20261127143042}]}}}}
    callback = parse_stk_callback(body)
    assert callback is not None
    assert callback.checkout_request_id == "ws_CO_191220191020363925"
    assert callback.result_code == 0
    assert callback.amount == Decimal("4500")
    assert callback.receipt == "NLJ7RT61SV"
    assert callback.phone_number == "254708374149"
    assert callback.transaction_date == datetime(2026, 11, 27, 11, 30, 42, tzinfo=UTC)


def test_parse_a_failure_callback_and_refuse_what_is_not_one() -> None:
    failure = parse_stk_callback({"Body": {"stkCallback": {
        "MerchantRequestID": "1", "CheckoutRequestID": "ws_CO_1", "ResultCode": 1032,
        "ResultDesc": "Request cancelled by user"}}})
    assert failure is not None and failure.result_code == 1032 and failure.amount is None
    assert parse_stk_callback({"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": "1037"}}}) is not None
    for garbage in (None, [], "x", {}, {"Body": []}, {"Body": {"stkCallback": {"CheckoutRequestID": "x"}}},
                    {"Body": {"stkCallback": {"CheckoutRequestID": "", "ResultCode": 0}}},
                    {"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": True}}},
                    {"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": 1.5}}},
                    # beyond any code a table keeps (found by the fuzz test: the insert failed, a stack trace logged)
                    {"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": 12200457785}}},
                    {"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": -(2**31) - 1}}},
                    {"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": 1e12}}}):
        assert parse_stk_callback(garbage) is None
    edge = parse_stk_callback({"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": 2**31 - 1}}})
    assert edge is not None and edge.result_code == 2**31 - 1
    odd = parse_stk_callback({"Body": {"stkCallback": {
        "CheckoutRequestID": "x", "ResultCode": 0,
        "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": "nan?"}, "junk", {"Value": 1}]}}}})
    assert odd is not None and odd.amount is None and odd.receipt is None


@pytest.mark.parametrize("sent", ["1E+100000", 1e300, 2**31, "2147483648", -(2**31), "-1E+100000"])
def test_an_amount_no_table_keeps_is_no_amount_in_any_document(sent: Any) -> None:
    # Found by reading: "1E+100000" kept as an unmatched callback's amount took int() 25 s, holding the interpreter;
    # 2**31 failed the insert ("integer out of range"). Each document reads the amount the same way.
    metadata = {"Item": [{"Name": "Amount", "Value": sent}, {"Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV"}]}
    callback = parse_stk_callback({"Body": {"stkCallback": {
        "CheckoutRequestID": "x", "ResultCode": 0, "CallbackMetadata": metadata}}})
    assert callback is not None and callback.amount is None and callback.receipt == "NLJ7RT61SV"
    parameters = {"ResultParameter": [{"Key": "TransactionAmount", "Value": sent}, {"Key": "Amount", "Value": sent}]}
    result = parse_b2c_result({"Result": {"OriginatorConversationID": "o-1", "ResultCode": 0,
                                          "ResultParameters": parameters}})
    status = parse_b2c_status({"Result": {"ResultCode": 0, "ResultParameters": parameters}})
    assert result is not None and result.amount is None and status is not None and status.amount is None
    notice = parse_c2b({"TransID": "RKL51ZDR4F", "BusinessShortCode": "600000", "TransAmount": sent})
    assert notice is not None and notice.amount is None
    [pulled] = parse_pulled({"ResponseCode": "1000", "Response": [[{
        "transactionId": "RKL51ZDR4F", "transactiontype": "c2b-pay-bill-debit", "amount": sent}]]}) or [None]
    assert pulled is not None and pulled.amount is None
    assert as_decimal(sent) is None  # Pesapal's status reads its amount with the same helper
    assert as_decimal(2**31 - 1) == Decimal(2**31 - 1) and as_decimal("4500.00") == Decimal(4500)


def test_every_documented_result_code_has_a_readable_reason() -> None:
    for code in (0, 1, 2, 3, 4, 8, 17, 1001, 1019, 1025, 1032, 1037, 2001, 2028, 8006):
        assert code in REASONS and reason_for(code) == REASONS[code]
    assert reason_for(9999, "Something odd") == "The payment failed (M-PESA result 9999): Something odd"
    assert reason_for(9999) == "The payment failed (M-PESA result 9999)"


# --- the client over HTTP -----------------------------------------------------------------------------
def test_push_and_query_through_the_simulator(sim: Any, http: httpx.Client) -> None:
    client = client_for(http, sim.url)
    accepted = push(client)
    assert accepted.response_code == "0" and accepted.checkout_request_id.startswith("ws_CO_")
    assert client.stk_query(accepted.checkout_request_id) is None  # still being processed
    sim.settled_callback(accepted.checkout_request_id)
    result = client.stk_query(accepted.checkout_request_id)
    assert result is not None and result.result_code == 0


def test_token_is_cached_and_fetched_once_by_concurrent_callers(sim: Any, http: httpx.Client) -> None:
    client = client_for(http, sim.url)
    barrier = threading.Barrier(8)
    tokens: list[str] = []

    def get() -> None:
        barrier.wait()
        tokens.append(client.access_token())

    threads = [threading.Thread(target=get) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(tokens)) == 1
    push(client)
    push(client)
    assert sim.daraja.stats["tokens_issued"] == 1


def test_an_invalidated_token_is_refreshed_once_and_the_call_retried(sim: Any, http: httpx.Client) -> None:
    first = client_for(http, sim.url)
    second = client_for(http, sim.url)  # same consumer key: each new token invalidates the other's
    push(first)
    push(second)
    push(first)
    assert sim.daraja.stats["stk_pushes"] == 3
    sim.client.post("/simulator/tokens/revoke")
    assert push(first).response_code == "0"
    assert sim.daraja.stats["tokens_issued"] == 4


def test_token_expiring_soon_is_refreshed_early(http: httpx.Client) -> None:
    from daraja_sim.app import create_app
    from daraja_sim.settings import SimSettings
    from jeshstack.procs import free_port
    from jeshstack.pytest_plugin import LiveServer

    server = LiveServer(create_app(SimSettings(token_ttl_seconds=2)), free_port())  # expires_in "2"
    try:
        client = client_for(http, f"http://127.0.0.1:{server.port}")  # refreshes 1 s before expiry
        first = client.access_token()
        assert client.access_token() == first
        time.sleep(1.1)
        second = client.access_token()
        assert second != first
        assert push(client).response_code == "0"  # the new token is the valid one
    finally:
        server.stop()


def test_refusals_carry_darajas_message(sim: Any, http: httpx.Client) -> None:
    with pytest.raises(DarajaRefused) as refused:
        push(client_for(http, sim.url, passkey="wrong"))
    assert refused.value.code == "500.001.1001" and refused.value.message == "Wrong credentials"
    with pytest.raises(DarajaRefused) as refused:
        push(client_for(http, sim.url), amount=0)
    assert refused.value.message == "Bad Request - Invalid Amount"
    with pytest.raises(DarajaRefused) as refused:
        client_for(http, sim.url).stk_query("ws_CO_unknown")
    assert refused.value.message == "Bad Request - Invalid CheckoutRequestID"
    with pytest.raises(DarajaRefused) as refused:
        client_for(http, sim.url, consumer_key="").access_token()
    assert refused.value.code == "400.008.01"


def test_unreachable_and_silent_daraja_are_clean_errors(http: httpx.Client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(DarajaUnavailable) as down:
        push(client_for(http, f"http://127.0.0.1:{closed_port}"))
    assert down.value.message == "M-PESA is unavailable, please retry"

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        # only the token was asked for, and never came: no push went out, whatever M-PESA did with that request
        with pytest.raises(DarajaUnavailable) as no_token:
            push(client_for(http, f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3))
        assert time.monotonic() - started < 3
    assert no_token.value.message == "M-PESA is unavailable, please retry"


def test_a_push_or_query_answered_too_late_may_have_been_acted_upon(sim: Any, http: httpx.Client) -> None:
    from daraja_sim.proxy import delaying_proxy
    from jeshstack.procs import free_port
    from jeshstack.pytest_plugin import LiveServer

    proxy = LiveServer(delaying_proxy(sim.url, {"/mpesa/stkpush/v1/processrequest": 2.0,
                                                "/mpesa/stkpushquery/v1/query": 2.0}), free_port())
    try:
        client = client_for(http, f"http://127.0.0.1:{proxy.port}", timeout=0.5)
        with pytest.raises(ProviderUncertain) as slow:  # the token came; the push may have reached the phone
            push(client)
        assert slow.value.message == "M-PESA did not answer in time"
        with pytest.raises(ProviderUncertain):
            client.stk_query("ws_CO_unknown")
    finally:
        proxy.stop()


def test_a_push_accepted_without_its_checkout_request_id_may_have_been_sent(http: httpx.Client) -> None:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from jeshstack.procs import free_port
    from jeshstack.pytest_plugin import LiveServer

    app = FastAPI()

    @app.get("/oauth/v1/generate")
    def token() -> JSONResponse:
        return JSONResponse({"access_token": "t", "expires_in": "3599"})

    @app.post("/mpesa/stkpush/v1/processrequest")
    def stk() -> JSONResponse:  # accepted (the prompt goes out), but the answer lost its CheckoutRequestID
        return JSONResponse({"MerchantRequestID": "29115-1-1", "ResponseCode": "0",
                             "ResponseDescription": "Success. Request accepted for processing"})

    server = LiveServer(app, free_port())
    try:
        with pytest.raises(ProviderUncertain) as unsure:  # not a refusal: the payment must be kept for its callback
            push(client_for(http, f"http://127.0.0.1:{server.port}"))
        assert unsure.value.message == "M-PESA accepted the payment request without its reference"
    finally:
        server.stop()


def test_a_query_answering_4999_still_under_processing_is_no_outcome(http: httpx.Client) -> None:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from jeshstack.procs import free_port
    from jeshstack.pytest_plugin import LiveServer

    app = FastAPI()
    answers = [("4999", "The transaction is still under processing"), ("1032", "Request cancelled by user")]

    @app.get("/oauth/v1/generate")
    def token() -> JSONResponse:
        return JSONResponse({"access_token": "t", "expires_in": "3599"})

    @app.post("/mpesa/stkpushquery/v1/query")
    def query() -> JSONResponse:
        code, desc = answers.pop(0)
        return JSONResponse({"ResponseCode": "0", "ResponseDescription": "The service request has been accepted "
                             "successsfully", "MerchantRequestID": "29115-1-1", "CheckoutRequestID": "ws_CO_1",
                             "ResultCode": code, "ResultDesc": desc})

    server = LiveServer(app, free_port())
    try:
        client = client_for(http, f"http://127.0.0.1:{server.port}")
        assert client.stk_query("ws_CO_1") is None  # asked again later, never taken as a failure
        settled = client.stk_query("ws_CO_1")
        assert settled is not None and settled.result_code == 1032
    finally:
        server.stop()


def test_a_token_answered_with_a_gateway_error_sends_nothing(http: httpx.Client) -> None:
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    from jeshstack.procs import free_port
    from jeshstack.pytest_plugin import LiveServer

    app = FastAPI()
    pushes: list[int] = []

    @app.get("/oauth/v1/generate")
    def token() -> HTMLResponse:
        return HTMLResponse("<html>503 Service Unavailable</html>", status_code=503)

    @app.post("/mpesa/stkpush/v1/processrequest")
    def stk() -> HTMLResponse:
        pushes.append(1)
        return HTMLResponse("unexpected", status_code=500)

    server = LiveServer(app, free_port())
    try:
        with pytest.raises(DarajaUnavailable) as down:  # not ProviderUncertain: no push was sent
            push(client_for(http, f"http://127.0.0.1:{server.port}"))
        assert "HTTP 503" in down.value.message and pushes == []
    finally:
        server.stop()


def test_non_daraja_answers_are_unavailable_not_crashes(http: httpx.Client) -> None:
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse, JSONResponse

    from jeshstack.procs import free_port
    from jeshstack.pytest_plugin import LiveServer

    app = FastAPI()

    @app.get("/oauth/v1/generate")
    def token() -> JSONResponse:
        return JSONResponse({"access_token": "t", "expires_in": "soon"})

    @app.post("/mpesa/stkpush/v1/processrequest")
    def broken() -> HTMLResponse:
        return HTMLResponse("<html>502 Bad Gateway</html>", status_code=502)

    server = LiveServer(app, free_port())
    try:
        with pytest.raises(ProviderUncertain) as bad:  # a gateway error page: maybe acted upon
            push(client_for(http, f"http://127.0.0.1:{server.port}"))
        assert "HTTP 502" in bad.value.message
    finally:
        server.stop()


# --- settings -----------------------------------------------------------------------------------------
def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production")
    message = str(refused.value)
    for name in ("DARAJA_CONSUMER_KEY", "DARAJA_CONSUMER_SECRET", "MPESA_PASSKEY", "MPESA_CALLBACK_TOKEN"):
        assert name in message
    Settings(
        environment="production",
        daraja_consumer_key="live-key",
        daraja_consumer_secret="live-secret",
        mpesa_passkey="live-passkey",
        mpesa_callback_token="f00dfeed",
        pesapal_consumer_key="live-pesapal-key",
        pesapal_consumer_secret="live-pesapal-secret",
        pesapal_ipn_token="0ddba11",
        mpesa_b2c_security_credential="bGl2ZS1jcmVkZW50aWFs",
    )


def test_settings_refuse_a_callback_url_safaricom_would_refuse() -> None:
    with pytest.raises(ValidationError):
        Settings(public_base_url="https://mpesa.example.co.ke")
    with pytest.raises(ValidationError):
        Settings(mpesa_callback_token="sqltoken")
    assert Settings(mpesa_callback_token="  ").mpesa_callback_token is None


def test_party_b_is_the_till_for_buy_goods_else_the_shortcode() -> None:
    assert Settings().mpesa_payee == "174379"
    till = Settings(mpesa_transaction_type="CustomerBuyGoodsOnline", mpesa_party_b="600100")
    assert till.mpesa_payee == "600100"


def test_b2c_result_is_read_by_key_and_garbage_is_none() -> None:
    body = {"Result": {"ResultType": 0, "ResultCode": 0, "ResultDesc": "ok", "OriginatorConversationID": "o-1",
                       "ConversationID": "AG_1", "TransactionID": "NLJ41HAY6Q",
                       "ResultParameters": {"ResultParameter": [{"Key": "TransactionReceipt", "Value": "NLJ41HAY6Q"},
                                                                {"Key": "TransactionAmount", "Value": 10}]}}}
    result = parse_b2c_result(body)
    assert result is not None and result.receipt == "NLJ41HAY6Q" and result.amount == Decimal(10)
    assert result.originator_conversation_id == "o-1" and result.result_code == 0
    for garbage in (None, [], {}, {"Result": {}}, {"Result": {"OriginatorConversationID": 5, "ResultCode": 0}},
                    {"Result": {"OriginatorConversationID": "o-1", "ResultCode": 2**31}}):
        assert parse_b2c_result(garbage) is None
