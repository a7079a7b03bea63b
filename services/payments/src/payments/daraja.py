"""Safaricom Daraja's wire format: the OAuth/STK Push/STK Push Query client and the callback parser.

Only this module knows Daraja's field names. One DarajaClient per process (it caches the OAuth token).
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

log = logging.getLogger("payments.daraja")

NAIROBI = ZoneInfo("Africa/Nairobi")
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
INVALID_TOKEN = "404.001.03"
STILL_PROCESSING = "500.001.1001"
MAX_AMOUNT = 250_000
_PHONE = re.compile(r"254[17]\d{8}")


class DarajaError(Exception):
    """Daraja could not do what was asked; `message` is one readable sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DarajaUnavailable(DarajaError):
    """Daraja could not be reached, timed out, or answered something that is not Daraja's JSON."""


class DarajaRefused(DarajaError):
    """Daraja answered with an error (errorCode/errorMessage, or a non-zero ResponseCode)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


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


@dataclass(frozen=True)
class StkCallback:
    """The parts of a `Body.stkCallback` we use; CallbackMetadata items read by Name."""

    checkout_request_id: str
    merchant_request_id: str | None
    result_code: int
    result_desc: str
    amount: Decimal | None = None
    receipt: str | None = None
    phone_number: str | None = None
    transaction_date: datetime | None = None


def daraja_timestamp(now: datetime | None = None) -> str:
    """YYYYMMDDHHmmss in Nairobi time, as Daraja wants it."""
    return (now or datetime.now(UTC)).astimezone(NAIROBI).strftime(TIMESTAMP_FORMAT)


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode()


def normalize_phone(raw: object) -> str | None:
    """Kenyan mobile numbers (07…, 01…, +2547…, 2547…, 7…) as 2547XXXXXXXX / 2541XXXXXXXX; None if not one."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    digits = re.sub(r"[\s\-()]", "", str(raw)).removeprefix("+")
    if re.fullmatch(r"0[17]\d{8}", digits):
        digits = "254" + digits[1:]
    elif re.fullmatch(r"[17]\d{8}", digits):
        digits = "254" + digits
    return digits if _PHONE.fullmatch(digits) else None


def parse_stk_callback(raw: Any) -> StkCallback | None:
    """The callback Daraja POSTs, or None when the body is not one (never raises)."""
    try:
        callback = raw["Body"]["stkCallback"]
        checkout_request_id = callback["CheckoutRequestID"]
        result_code = _as_int(callback["ResultCode"])
    except (KeyError, TypeError, IndexError):
        return None
    if not isinstance(checkout_request_id, str) or not 0 < len(checkout_request_id) <= 100 or result_code is None:
        return None
    merchant_request_id = callback.get("MerchantRequestID")
    result_desc = callback.get("ResultDesc")
    items: dict[str, Any] = {}
    metadata = callback.get("CallbackMetadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("Item"), list):
        for item in metadata["Item"]:
            if isinstance(item, dict) and isinstance(item.get("Name"), str):
                items[item["Name"]] = item.get("Value")  # Balance may come without a Value
    receipt = items.get("MpesaReceiptNumber")
    phone = items.get("PhoneNumber")
    return StkCallback(
        checkout_request_id=checkout_request_id,
        merchant_request_id=merchant_request_id if isinstance(merchant_request_id, str) else None,
        result_code=result_code,
        result_desc=str(result_desc)[:500] if result_desc is not None else "",
        amount=_as_decimal(items.get("Amount")),
        receipt=receipt.strip()[:40] if isinstance(receipt, str) and receipt.strip() else None,
        phone_number=str(phone) if isinstance(phone, int | str) and not isinstance(phone, bool) else None,
        transaction_date=_as_nairobi_time(items.get("TransactionDate")),
    )


TokenFetch = Callable[[], tuple[str, float]]


class TokenStore(Protocol):
    """Where the OAuth token lives. Daraja invalidates a token as soon as another is issued for the same app,
    so every replica must share one token, fetched by one of them at a time."""

    def obtain(self, fetch: TokenFetch, *, stale: str | None, margin: float) -> tuple[str, float]:
        """A token and the epoch second until which to use it; `stale` is a token Daraja just refused."""
        ...


class DarajaClient:
    """OAuth token cache (single-flight across threads, and across replicas through the TokenStore),
    STK Push and STK Push Query, over the process's httpx client."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        shortcode: str,
        passkey: str,
        timeout: float = 10.0,
        refresh_margin: float = 60.0,
        token_store: TokenStore,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._credentials = (consumer_key, consumer_secret)
        self._shortcode = shortcode
        self._passkey = passkey
        self._timeout = timeout
        self._refresh_margin = refresh_margin
        # Daraja invalidates a token when another is issued: one fetch at a time, shared by all threads.
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_good_until = 0.0  # epoch seconds: replicas compare it through the store
        self._refused_token: str | None = None
        self._token_store = token_store

    # --- OAuth ----------------------------------------------------------------------------------
    def access_token(self) -> str:
        """The cached token, or a fresh one (only one thread fetches; the others wait for it)."""
        token = self._token
        if token is not None and time.time() < self._token_good_until:
            return token
        with self._token_lock:
            if self._token is not None and time.time() < self._token_good_until:
                return self._token
            token, good_until = self._token_store.obtain(
                self._fetch_token, stale=self._refused_token, margin=self._refresh_margin
            )
            self._token, self._token_good_until, self._refused_token = token, good_until, None
            return token

    def _forget_token(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:  # another thread may already hold a newer one
                self._token = None
                self._refused_token = token

    def _fetch_token(self) -> tuple[str, float]:
        response = self._send(
            "GET", "/oauth/v1/generate", params={"grant_type": "client_credentials"}, auth=self._credentials
        )
        body = _json_object(response)
        token = body.get("access_token") if body else None
        if response.status_code == 200 and isinstance(token, str) and token:
            try:
                expires_in = float(str(body.get("expires_in", "3599")))  # often a string
            except ValueError:
                expires_in = 300.0
            return token, max(expires_in, 1.0)
        raise _error_from(response, body, "M-PESA refused our credentials")

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
        timestamp = daraja_timestamp()
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
        raise _error_from(response, body, "M-PESA did not accept the payment request")

    def stk_query(self, checkout_request_id: str) -> StkQueryResult | None:
        """The push's settled result, or None while Daraja says it is still being processed."""
        timestamp = daraja_timestamp()
        payload = {
            "BusinessShortCode": self._shortcode,
            "Password": stk_password(self._shortcode, self._passkey, timestamp),
            "Timestamp": timestamp,
            "CheckoutRequestID": checkout_request_id,
        }
        response, body = self._authorized_post("/mpesa/stkpushquery/v1/query", payload)
        if body and response.status_code == 200 and "ResultCode" in body:
            code = _as_int(body["ResultCode"])
            if code is not None:
                return StkQueryResult(result_code=code, result_desc=str(body.get("ResultDesc", "")))
        message = str(body.get("errorMessage", "")) if body else ""
        if body and body.get("errorCode") == STILL_PROCESSING and "process" in message.lower():
            return None
        raise _error_from(response, body, "M-PESA could not report on the payment")

    # --- transport ------------------------------------------------------------------------------
    def _authorized_post(self, path: str, payload: dict[str, Any]) -> tuple[httpx.Response, dict[str, Any] | None]:
        """POST with the Bearer token; on an invalid-token answer, refresh once and retry."""
        for attempt in (1, 2):
            token = self.access_token()
            response = self._send("POST", path, json=payload, headers={"Authorization": f"Bearer {token}"})
            body = _json_object(response)
            invalid_token = response.status_code == 401 or (body is not None and body.get("errorCode") == INVALID_TOKEN)
            if invalid_token and attempt == 1:
                log.info("Daraja refused our access token, fetching a new one")
                self._forget_token(token)
                continue
            return response, body
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, self._base_url + path, timeout=self._timeout, **kwargs)
        except httpx.TimeoutException:
            log.warning("Daraja timed out on %s", path)
            raise DarajaUnavailable("M-PESA did not answer in time, please retry") from None
        except httpx.HTTPError as exc:
            log.warning("Daraja unreachable on %s: %s", path, exc)
            raise DarajaUnavailable("M-PESA is unavailable, please retry") from None


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error_from(response: httpx.Response, body: dict[str, Any] | None, fallback: str) -> DarajaError:
    if body and body.get("errorCode"):
        return DarajaRefused(str(body["errorCode"]), str(body.get("errorMessage") or fallback))
    if body and body.get("ResponseCode") not in (None, "0", 0):
        return DarajaRefused(str(body["ResponseCode"]), str(body.get("ResponseDescription") or fallback))
    log.warning("Daraja answered HTTP %s without a usable body", response.status_code)
    return DarajaUnavailable(f"M-PESA answered unexpectedly (HTTP {response.status_code}), please retry")


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        return int(value.strip())
    return None


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _as_nairobi_time(value: Any) -> datetime | None:
    """TransactionDate (a number YYYYMMDDHHmmss, Nairobi time) as an aware UTC datetime."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"\d{14}", text):
        return None
    try:
        return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=NAIROBI).astimezone(UTC)
    except ValueError:
        return None
