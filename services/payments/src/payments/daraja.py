"""Safaricom Daraja's client: OAuth, STK Push, STK Push Query, B2C (refunds), the Paybill's C2B URLs, Transaction
Status and Pull Transactions.

Only this module and `daraja_wire` know Daraja's field names. One DarajaClient per process (it caches the
OAuth token). Errors are the providers' (ProviderUnavailable / ProviderUncertain / ProviderRefused): a caller
can tell "surely not sent" from "maybe acted upon".
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from jeshkit.clock import NAIROBI
from jeshkit.metrics import DARAJA_REQUEST_SECONDS
from jeshkit.mpesa import stk_password, stk_timestamp
from payments.daraja_wire import PulledPayment, as_int, parse_pulled
from payments.providers import ProviderError, ProviderRefused, ProviderUnavailable, ProviderUncertain
from payments.token_cache import SharedToken, TokenFetch, TokenStore

__all__ = ["DarajaClient", "StkPushAccepted", "StkQueryResult", "TokenFetch", "TokenStore"]

log = logging.getLogger("payments.daraja")

INVALID_TOKEN = "404.001.03"
OPERATIONS = {
    "/oauth/v1/generate": "oauth",
    "/mpesa/stkpush/v1/processrequest": "stkpush",
    "/mpesa/stkpushquery/v1/query": "stkquery",
    "/mpesa/b2c/v3/paymentrequest": "b2c",
    "/mpesa/transactionstatus/v1/query": "transactionstatus",
    "/mpesa/c2b/v2/registerurl": "c2bregister",
    "/pulltransactions/v1/register": "pullregister",
    "/pulltransactions/v1/query": "pull",
}
STILL_PROCESSING = "500.001.1001"
# STK Push Query also answers "still processing" as a result: ResultCode 4999 "The transaction is still under
# processing" (seen from Daraja since 2023). It is no outcome: taken as a failure, it would fail a push the payer may
# still be answering, and tell them so.
STILL_PROCESSING_RESULT = 4999


@dataclass(frozen=True)
class StkPushAccepted:
    """Daraja accepted the push: a prompt was sent, nothing is paid yet."""

    merchant_request_id: str
    checkout_request_id: str
    response_code: str
    response_description: str
    customer_message: str


@dataclass(frozen=True)
class StkQueryResult:
    """A settled push as STK Push Query reports it (ResultCode arrives as a string there)."""

    result_code: int
    result_desc: str


class DarajaClient:
    """OAuth token cache (single-flight across threads, and across replicas through the TokenStore),
    STK Push, STK Push Query and B2C, over the process's httpx client."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        shortcode: str,
        passkey: str,
        token_store: TokenStore,
        timeout: float = 10.0,
        refresh_margin: float = 60.0,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._credentials = (consumer_key, consumer_secret)
        self._shortcode = shortcode
        self._passkey = passkey
        self._timeout = timeout
        # Daraja invalidates a token when another is issued: one fetch at a time, shared by all threads and replicas.
        self._token = SharedToken(token_store, self._fetch_token, margin=refresh_margin)

    # --- OAuth ----------------------------------------------------------------------------------
    def access_token(self) -> str:
        """The cached token, or a fresh one (only one thread fetches; the others wait for it)."""
        return self._token.get()

    def _fetch_token(self) -> tuple[str, float]:
        """A new token. Whatever becomes of this request, the call that needed the token has not gone out: a token
        M-PESA answered too late for, or with a gateway's error page, is 'unavailable', never 'maybe sent' (a push
        kept as maybe sent would block its booking with nothing on its way to the phone)."""
        try:
            response = self._send(
                "GET", "/oauth/v1/generate", params={"grant_type": "client_credentials"}, auth=self._credentials
            )
        except ProviderUncertain:
            raise ProviderUnavailable("M-PESA is unavailable, please retry") from None
        body = _json_object(response)
        token = body.get("access_token") if body else None
        if response.status_code == 200 and body and isinstance(token, str) and token:
            try:
                expires_in = float(str(body.get("expires_in", "3599")))  # often a string
            except ValueError:
                expires_in = 300.0
            return token, max(expires_in, 1.0)
        error = _error_from(response, body, "M-PESA refused our credentials")
        if isinstance(error, ProviderUncertain):
            raise ProviderUnavailable(error.message)
        raise error

    # --- STK Push -------------------------------------------------------------------------------
    def stk_push(
        self,
        *,
        amount: int,
        phone_number: str,
        callback_url: str,
        account_reference: str,
        transaction_desc: str,
        transaction_type: str,
        party_b: str,
    ) -> StkPushAccepted:
        """Send the payment prompt to the payer's phone (accepted means 'prompt sent', not 'paid')."""
        timestamp = stk_timestamp()
        payload = {
            "BusinessShortCode": self._shortcode,
            "Password": stk_password(self._shortcode, self._passkey, timestamp),
            "Timestamp": timestamp,
            "TransactionType": transaction_type,
            "Amount": int(amount),
            "PartyA": phone_number,
            "PartyB": party_b,
            "PhoneNumber": phone_number,
            "CallBackURL": callback_url,
            "AccountReference": account_reference[:12],
            "TransactionDesc": transaction_desc[:13],
        }
        response, body = self._authorized_post("/mpesa/stkpush/v1/processrequest", payload)
        if body and str(body.get("ResponseCode")) == "0" and isinstance(body.get("CheckoutRequestID"), str):
            return StkPushAccepted(
                merchant_request_id=str(body.get("MerchantRequestID", "")),
                checkout_request_id=body["CheckoutRequestID"],
                response_code="0",
                response_description=str(body.get("ResponseDescription", "")),
                customer_message=str(body.get("CustomerMessage", "")),
            )
        if body and str(body.get("ResponseCode")) == "0":
            # Accepted, but without the CheckoutRequestID: the prompt may be on its way. Kept as maybe sent: its
            # callback (by the push's own token) settles it; deleted, that callback would find no payment.
            log.warning("Daraja accepted an STK Push without a CheckoutRequestID: %.200r", body)
            raise ProviderUncertain("M-PESA accepted the payment request without its reference")
        raise _error_from(response, body, "M-PESA did not accept the payment request")

    def stk_query(self, checkout_request_id: str) -> StkQueryResult | None:
        """The push's settled result, or None while Daraja says it is still being processed."""
        timestamp = stk_timestamp()
        payload = {
            "BusinessShortCode": self._shortcode,
            "Password": stk_password(self._shortcode, self._passkey, timestamp),
            "Timestamp": timestamp,
            "CheckoutRequestID": checkout_request_id,
        }
        response, body = self._authorized_post("/mpesa/stkpushquery/v1/query", payload)
        if body and response.status_code == 200 and "ResultCode" in body:
            code = as_int(body["ResultCode"])
            if code == STILL_PROCESSING_RESULT:
                return None
            if code is not None:
                return StkQueryResult(result_code=code, result_desc=str(body.get("ResultDesc", "")))
        message = str(body.get("errorMessage", "")) if body else ""
        if body and body.get("errorCode") == STILL_PROCESSING and "process" in message.lower():
            return None
        raise _error_from(response, body, "M-PESA could not report on the payment")

    # --- B2C ------------------------------------------------------------------------------------
    def b2c_payment(
        self,
        *,
        originator_conversation_id: str,
        initiator_name: str,
        security_credential: str,
        command_id: str,
        amount: int,
        party_a: str,
        phone_number: str,
        remarks: str,
        result_url: str,
        queue_timeout_url: str,
        occasion: str = "",
    ) -> str:
        """Ask Daraja to pay `amount` to a phone; returns its ConversationID (accepted only: the result comes
        to ResultURL). The same OriginatorConversationID sent again never pays twice."""
        payload = {
            "OriginatorConversationID": originator_conversation_id,
            "InitiatorName": initiator_name,
            "SecurityCredential": security_credential,
            "CommandID": command_id,
            "Amount": int(amount),
            "PartyA": party_a,
            "PartyB": phone_number,
            "Remarks": remarks[:100] or "Refund",
            "QueueTimeOutURL": queue_timeout_url,
            "ResultURL": result_url,
            "Occasion": occasion[:100],
        }
        response, body = self._authorized_post("/mpesa/b2c/v3/paymentrequest", payload)
        if body and str(body.get("ResponseCode")) == "0":
            return str(body.get("ConversationID") or "")
        raise _error_from(response, body, "M-PESA did not accept the refund")

    # --- C2B (Paybill) -----------------------------------------------------------------------------
    def register_c2b_urls(
        self, *, shortcode: str, response_type: str, confirmation_url: str, validation_url: str
    ) -> str:
        """Tell M-PESA where to POST the Paybill's validation and confirmation requests; its description."""
        payload = {"ShortCode": shortcode, "ResponseType": response_type, "ConfirmationURL": confirmation_url,
                   "ValidationURL": validation_url}
        response, body = self._authorized_post("/mpesa/c2b/v2/registerurl", payload)
        if body and str(body.get("ResponseCode")) == "0":
            return str(body.get("ResponseDescription") or "Success")
        raise _error_from(response, body, "M-PESA did not register the Paybill's URLs")

    def register_pull(self, *, shortcode: str, nominated_number: str, callback_url: str) -> str:
        """Register the shortcode for Pull Transactions (once; registered already is fine); M-PESA's description."""
        payload = {"ShortCode": shortcode, "RequestType": "Pull", "NominatedNumber": nominated_number,
                   "CallBackURL": callback_url}
        response, body = self._authorized_post("/pulltransactions/v1/register", payload)
        if body and str(body.get("ResponseStatus")) in ("1000", "1001"):
            return str(body.get("ResponseDescription") or "Registered")
        raise _error_from(response, body, "M-PESA did not register the shortcode for Pull Transactions")

    def pull_transactions(self, *, shortcode: str, start: datetime, end: datetime, offset: int) -> list[PulledPayment]:
        """The C2B payments made to the shortcode between start and end (M-PESA keeps 48 hours), from row `offset`."""
        payload = {"ShortCode": shortcode, "StartDate": _eat(start), "EndDate": _eat(end), "OffSetValue": str(offset)}
        response, body = self._authorized_post("/pulltransactions/v1/query", payload)
        pulled = parse_pulled(body)
        if pulled is None:
            raise _error_from(response, body, "M-PESA did not list the Paybill's transactions")
        return pulled

    def transaction_status(
        self,
        *,
        original_conversation_id: str,
        initiator_name: str,
        security_credential: str,
        party_a: str,
        result_url: str,
        queue_timeout_url: str,
        remarks: str,
        transaction_id: str = "",
    ) -> None:
        """Ask M-PESA what became of a transaction (a payout by our OriginatorConversationID, a customer's payment by
        its receipt as `transaction_id`); accepted only: the answer comes to ResultURL."""
        payload = {
            "Initiator": initiator_name,
            "SecurityCredential": security_credential,
            "CommandID": "TransactionStatusQuery",
            "TransactionID": transaction_id,
            "OriginalConversationID": original_conversation_id,
            "PartyA": party_a,
            "IdentifierType": "4",  # an organisation shortcode
            "ResultURL": result_url,
            "QueueTimeOutURL": queue_timeout_url,
            "Remarks": remarks[:100] or "Refund status",
            "Occasion": "",
        }
        response, body = self._authorized_post("/mpesa/transactionstatus/v1/query", payload)
        if body and str(body.get("ResponseCode")) == "0":
            return
        raise _error_from(response, body, "M-PESA did not accept the status query")

    # --- transport ------------------------------------------------------------------------------
    def _authorized_post(self, path: str, payload: dict[str, Any]) -> tuple[httpx.Response, dict[str, Any] | None]:
        """POST with the Bearer token; on an invalid-token answer, refresh once and retry."""
        def send(token: str) -> tuple[httpx.Response, dict[str, Any] | None]:
            response = self._send("POST", path, json=payload, headers={"Authorization": f"Bearer {token}"})
            return response, _json_object(response)

        def refused(answer: tuple[httpx.Response, dict[str, Any] | None]) -> bool:
            response, body = answer
            return response.status_code == 401 or (body is not None and body.get("errorCode") == INVALID_TOKEN)

        return self._token.call(send, refused=refused, provider="Daraja")

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        started, outcome = time.perf_counter(), "error"
        try:
            response = self._http.request(method, self._base_url + path, timeout=self._timeout, **kwargs)
            # "still processing" is STK Push Query's HTTP 500 that is not an error
            if response.status_code < 500 or OPERATIONS.get(path) == "stkquery":
                outcome = "ok"
            return response
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            log.warning("Daraja unreachable on %s: %s", path, exc)
            raise ProviderUnavailable("M-PESA is unavailable, please retry") from None
        except httpx.TimeoutException:
            log.warning("Daraja sent no answer in time on %s", path)
            raise ProviderUncertain("M-PESA did not answer in time") from None
        except httpx.HTTPError as exc:  # the connection broke after the request went out
            log.warning("Daraja's answer was lost on %s: %s", path, exc)
            raise ProviderUncertain("M-PESA's answer was lost") from None
        finally:
            DARAJA_REQUEST_SECONDS.labels(OPERATIONS.get(path, "other"), outcome).observe(time.perf_counter() - started)


def _eat(moment: datetime) -> str:
    """A moment as Pull Transactions reads it: East Africa Time, "YYYY-MM-DD HH:MM:SS"."""
    return moment.astimezone(NAIROBI).strftime("%Y-%m-%d %H:%M:%S")


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error_from(response: httpx.Response, body: dict[str, Any] | None, fallback: str) -> ProviderError:
    if body and body.get("errorCode"):
        return ProviderRefused(str(body.get("errorMessage") or fallback), code=str(body["errorCode"]))
    if body and body.get("ResponseCode") not in (None, "0", 0):
        return ProviderRefused(str(body.get("ResponseDescription") or fallback), code=str(body["ResponseCode"]))
    log.warning("Daraja answered HTTP %s without a usable body", response.status_code)
    message = f"M-PESA answered unexpectedly (HTTP {response.status_code}), please retry"
    if response.status_code >= 500:  # a gateway's error page: the request may have been acted upon
        return ProviderUncertain(message)
    return ProviderRefused(message)
