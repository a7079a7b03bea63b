"""The simulated Daraja itself, in memory: OAuth tokens, STK Push validation, outcomes, query answers.

No web framework here: app.py turns these calls into Daraja's HTTP answers and delivers the callbacks.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from daraja_sim.b2c import Payouts
from daraja_sim.c2b import C2B
from daraja_sim.pull import Pull
from daraja_sim.settings import SimSettings
from daraja_sim.wire import (
    DarajaError,
    bad_request,
    basic_credentials,
    digits_of,
    nairobi_now,
    new_receipt,
    new_request_id,
    phone_of,
    valid_callback_url,
    whole_amount,
)
from jeshkit.mpesa import DARAJA_TIME, TIMESTAMP_FORMAT, parse_stk_timestamp, stk_password

TRANSACTION_TYPES = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")
NEVER = datetime.max.replace(tzinfo=UTC)  # when a held push settles unless released

RESULT_DESCRIPTIONS = {
    0: "The service request is processed successfully.",
    1: "The balance is insufficient for the transaction.",
    1032: "Request cancelled by user",
    1037: "DS timeout user cannot be reached",
    2001: "The initiator information is invalid.",
    2028: "The request is not permitted according to product assignment.",
}


@dataclass(frozen=True)
class Outcome:
    result_code: int
    slow: bool = False
    send_callback: bool = True


def outcome_for(phone: str) -> Outcome:
    """The contract's table: the payer's phone number's last four digits pick the outcome."""
    last_four = phone[-4:]
    if last_four == "1032":
        return Outcome(1032)
    if last_four == "1037":
        return Outcome(1037, slow=True)
    if last_four == "0001":
        return Outcome(1)
    if last_four == "2001":
        return Outcome(2001)
    if last_four == "0000":
        return Outcome(0, send_callback=False)
    return Outcome(0)


@dataclass
class Transaction:
    """One accepted STK Push and what became of it."""

    checkout_request_id: str
    merchant_request_id: str
    business_short_code: str
    transaction_type: str
    amount: int
    party_a: str
    party_b: str
    phone: str
    callback_url: str
    account_reference: str
    transaction_desc: str
    created_at: datetime
    settles_at: datetime
    result_code: int
    send_callback: bool
    receipt: str | None = None
    # Held by a test (its phone was put "processing"): unsettled until released, and its callback is lost.
    held: bool = False
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def result_desc(self) -> str:
        return RESULT_DESCRIPTIONS.get(self.result_code, "The service request failed.")

    def is_settled(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.settles_at

    def callback_body(self) -> dict[str, Any]:
        """What Daraja POSTs to CallBackURL (ResultCode a number, Amount a float, Balance without Value)."""
        callback: dict[str, Any] = {
            "MerchantRequestID": self.merchant_request_id,
            "CheckoutRequestID": self.checkout_request_id,
            "ResultCode": self.result_code,
            "ResultDesc": self.result_desc,
        }
        if self.result_code == 0:
            paid_at = self.settles_at.astimezone(DARAJA_TIME)
            callback["CallbackMetadata"] = {
                "Item": [
                    {"Name": "Amount", "Value": float(self.amount)},
                    {"Name": "MpesaReceiptNumber", "Value": self.receipt},
                    {"Name": "Balance"},
                    {"Name": "TransactionDate", "Value": int(paid_at.strftime(TIMESTAMP_FORMAT))},
                    {"Name": "PhoneNumber", "Value": int(self.phone)},
                ]
            }
        return {"Body": {"stkCallback": callback}}

    def query_answer(self) -> dict[str, str]:
        """A settled STK Push Query answer (ResultCode a string here, and no receipt)."""
        return {
            "ResponseCode": "0",
            "ResponseDescription": "The service request has been accepted successsfully",
            "MerchantRequestID": self.merchant_request_id,
            "CheckoutRequestID": self.checkout_request_id,
            "ResultCode": str(self.result_code),
            "ResultDesc": self.result_desc,
        }

    def to_dict(self) -> dict[str, Any]:
        """The admin view (not a Daraja shape); `callback` is what was (or would be) POSTed once settled."""
        settled = self.is_settled()
        return {
            "CheckoutRequestID": self.checkout_request_id,
            "MerchantRequestID": self.merchant_request_id,
            "BusinessShortCode": self.business_short_code,
            "TransactionType": self.transaction_type,
            "Amount": self.amount,
            "PartyA": self.party_a,
            "PartyB": self.party_b,
            "PhoneNumber": self.phone,
            "CallBackURL": self.callback_url,
            "AccountReference": self.account_reference,
            "TransactionDesc": self.transaction_desc,
            "created_at": self.created_at.isoformat(),
            "settles_at": self.settles_at.isoformat(),
            "status": "settled" if settled else "pending",
            "ResultCode": self.result_code,
            "ResultDesc": self.result_desc,
            "MpesaReceiptNumber": self.receipt,
            "sends_callback": self.send_callback,
            "deliveries": list(self.deliveries),
            "callback": self.callback_body() if settled else None,
        }


class Daraja:
    """The simulator's whole state. Thread-safe, so tests may share one between server restarts."""

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._latest_token: dict[str, str] = {}  # consumer key -> its one valid token
        self._tokens: dict[str, tuple[str, datetime]] = {}  # token -> (consumer key, expires at)
        self.transactions: dict[str, Transaction] = {}
        self._receipts: set[str] = set()
        self.stats = {"tokens_issued": 0, "stk_pushes": 0, "stk_queries": 0, "callbacks_sent": 0, "b2c_requests": 0,
                      "status_queries": 0}
        self.payouts = Payouts(settings)
        self.c2b = C2B(settings)
        self.pull = Pull(settings, self.c2b)
        self._processing_phones: set[str] = set()

    # --- OAuth ----------------------------------------------------------------------------------
    def issue_token(self, authorization: str | None, grant_type: str | None) -> dict[str, str]:
        """GET /oauth/v1/generate: a new token for these credentials; the previous one stops working."""
        if grant_type != "client_credentials":
            raise DarajaError("400.008.02", "Invalid grant type passed")
        key, secret = basic_credentials(authorization)
        if not key or not secret:
            raise DarajaError("400.008.01", "Invalid Authentication passed")
        if not self.settings.accept_any_credentials and not (
            secrets.compare_digest(key, self.settings.consumer_key)
            and secrets.compare_digest(secret, self.settings.consumer_secret)
        ):
            raise DarajaError("400.008.01", "Invalid Authentication passed")
        token = secrets.token_urlsafe(21)
        ttl = self.settings.token_ttl_seconds
        with self._lock:
            previous = self._latest_token.get(key)
            if previous is not None:
                self._tokens.pop(previous, None)
            self._latest_token[key] = token
            self._tokens[token] = (key, datetime.now(UTC) + timedelta(seconds=ttl))
            self.stats["tokens_issued"] += 1
        return {"access_token": token, "expires_in": str(ttl)}

    def check_token(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise DarajaError("404.001.04", "Invalid Authentication Header")
        with self._lock:
            entry = self._tokens.get(token.strip())
        if entry is None or entry[1] <= datetime.now(UTC):
            raise DarajaError("404.001.03", "Invalid Access Token")

    def revoke_tokens(self) -> int:
        """Admin: forget every token (as if each had been superseded). Returns how many there were."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            self._latest_token.clear()
        return count

    # --- STK Push -------------------------------------------------------------------------------
    def stk_push(self, body: Any) -> tuple[Transaction, dict[str, str], float]:
        """Validate an STK Push like Daraja; returns the transaction, the answer and the callback delay."""
        if not isinstance(body, dict):
            raise bad_request("JSON")
        shortcode = self._check_credentials(body)
        transaction_type = body.get("TransactionType")
        if transaction_type not in TRANSACTION_TYPES:
            raise bad_request("TransactionType")
        amount = whole_amount(body.get("Amount"))
        if amount is None:
            raise bad_request("Amount")
        party_a = phone_of(body.get("PartyA"))
        if party_a is None:
            raise bad_request("PartyA")
        party_b = digits_of(body.get("PartyB"))
        if party_b is None:
            raise bad_request("PartyB")
        phone = phone_of(body.get("PhoneNumber"))
        if phone is None:
            raise bad_request("PhoneNumber")
        callback_url = body.get("CallBackURL")
        if not valid_callback_url(callback_url):
            raise bad_request("CallBackURL")
        account_reference = body.get("AccountReference")
        if not isinstance(account_reference, str) or not 1 <= len(account_reference) <= 12:
            raise bad_request("AccountReference")
        transaction_desc = body.get("TransactionDesc")
        if not isinstance(transaction_desc, str) or not 1 <= len(transaction_desc) <= 13:
            raise bad_request("TransactionDesc")

        outcome = outcome_for(phone)
        if transaction_type == "CustomerPayBillOnline" and party_b != shortcode:
            outcome = Outcome(2028)  # a paybill push must be paid to the shortcode itself
        delay = self.settings.slow_callback_delay_seconds if outcome.slow else self.settings.callback_delay_seconds
        now = datetime.now(UTC)
        with self._lock:
            held = phone in self._processing_phones
            checkout_request_id = self._new_checkout_request_id()
            receipt = self._new_receipt() if outcome.result_code == 0 else None
            transaction = Transaction(
                checkout_request_id=checkout_request_id,
                merchant_request_id=new_request_id(),
                business_short_code=shortcode,
                transaction_type=transaction_type,
                amount=amount,
                party_a=party_a,
                party_b=party_b,
                phone=phone,
                callback_url=str(callback_url),
                account_reference=account_reference,
                transaction_desc=transaction_desc,
                created_at=now,
                settles_at=NEVER if held else now + timedelta(seconds=max(delay, 0.0)),
                result_code=outcome.result_code,
                send_callback=outcome.send_callback and not held,
                receipt=receipt,
                held=held,
            )
            self.transactions[checkout_request_id] = transaction
            self.stats["stk_pushes"] += 1
        answer = {
            "MerchantRequestID": transaction.merchant_request_id,
            "CheckoutRequestID": transaction.checkout_request_id,
            "ResponseCode": "0",
            "ResponseDescription": "Success. Request accepted for processing",
            "CustomerMessage": "Success. Request accepted for processing",
        }
        return transaction, answer, delay

    # --- STK Push Query -------------------------------------------------------------------------
    def stk_query(self, body: Any) -> dict[str, str]:
        """Settled: Daraja's answer with a string ResultCode; still waiting: 500.001.1001."""
        if not isinstance(body, dict):
            raise bad_request("JSON")
        self._check_credentials(body)
        checkout_request_id = body.get("CheckoutRequestID")
        with self._lock:
            self.stats["stk_queries"] += 1
            transaction = self.transactions.get(checkout_request_id) if isinstance(checkout_request_id, str) else None
        if transaction is None:
            raise bad_request("CheckoutRequestID")
        if not transaction.is_settled():
            raise DarajaError("500.001.1001", "The transaction is being processed")
        return transaction.query_answer()

    # --- fault knobs (admin) -----------------------------------------------------------------------
    def hold_phone(self, phone: str) -> None:
        """Pushes to this phone from now on stay "being processed" (STK Push Query answers 500.001.1001) and never
        call back, until the phone is released: a payer whose outcome M-PESA cannot tell."""
        with self._lock:
            self._processing_phones.add(phone)

    def release_phone(self, phone: str, result_code: int | None = None) -> list[str]:
        """Stop holding the phone; its held pushes settle now with `result_code` (default: the outcome of its last
        four digits), still without a callback. Returns their CheckoutRequestIDs."""
        now = datetime.now(UTC)
        settled = []
        with self._lock:
            self._processing_phones.discard(phone)
            for transaction in self.transactions.values():
                if transaction.phone != phone or not transaction.held:
                    continue
                code = outcome_for(phone).result_code if result_code is None else result_code
                transaction.held = False
                transaction.result_code = code
                transaction.receipt = (transaction.receipt or self._new_receipt()) if code == 0 else None
                transaction.settles_at = now
                settled.append(transaction.checkout_request_id)
        return settled

    def get(self, checkout_request_id: str) -> Transaction | None:
        with self._lock:
            return self.transactions.get(checkout_request_id)

    def all(self) -> list[Transaction]:
        with self._lock:
            return sorted(self.transactions.values(), key=lambda t: t.created_at)

    def record_delivery(self, transaction: Transaction, record: dict[str, Any]) -> None:
        with self._lock:
            transaction.deliveries.append(record)
            self.stats["callbacks_sent"] += 1

    # --- helpers --------------------------------------------------------------------------------
    def _check_credentials(self, body: dict[str, Any]) -> str:
        """BusinessShortCode known, Timestamp well-formed (Nairobi time), Password = b64(code+passkey+ts)."""
        shortcode = digits_of(body.get("BusinessShortCode"))
        if shortcode is None or shortcode != self.settings.shortcode:
            raise bad_request("BusinessShortCode")
        timestamp = body.get("Timestamp")
        if not isinstance(timestamp, str) or not re.fullmatch(r"\d{14}", timestamp):
            raise bad_request("Timestamp")
        try:
            moment = parse_stk_timestamp(timestamp)
        except ValueError:
            raise bad_request("Timestamp") from None
        tolerance = self.settings.timestamp_tolerance_seconds
        if tolerance and abs((moment - nairobi_now()).total_seconds()) > tolerance:
            raise bad_request("Timestamp")
        password = body.get("Password")
        expected = stk_password(shortcode, self.settings.passkey, timestamp)
        if not isinstance(password, str) or not secrets.compare_digest(password, expected):
            raise DarajaError("500.001.1001", "Wrong credentials")
        return shortcode

    def _new_checkout_request_id(self) -> str:
        stamp = nairobi_now().strftime("%d%m%Y%H%M%S")
        while True:
            candidate = f"ws_CO_{stamp}{secrets.randbelow(10**9):09d}"
            if candidate not in self.transactions:
                return candidate

    def _new_receipt(self) -> str:
        while True:
            candidate = new_receipt()
            if candidate not in self._receipts:
                self._receipts.add(candidate)
                return candidate
