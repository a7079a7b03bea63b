"""The simulated Pesapal itself, in memory: tokens, registered IPN URLs, orders, payments and refunds.

No web framework here: app.py turns these calls into Pesapal's HTTP answers, shows the payment page and
delivers the IPNs.
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urlsplit

from pesapal_sim.settings import SimSettings

PAYS = "4111111111111111"
DECLINED = "4000000000000002"
MERCHANT_REFERENCE = re.compile(r"^[A-Za-z0-9\-_.:]{1,50}$")
STATUS = {0: "INVALID", 1: "COMPLETED", 2: "FAILED", 3: "REVERSED"}


class PesapalError(Exception):
    """An error answer in Pesapal's shape: `{"error": {"error_type", "code", "message"}, "status": "..."}`."""

    def __init__(self, code: str, message: str, *, http_status: int = 400, error_type: str = "api_error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.error_type = error_type

    def body(self) -> dict[str, Any]:
        return {
            "error": {"error_type": self.error_type, "code": self.code, "message": self.message},
            "status": str(self.http_status),
        }


def pesapal_time(moment: datetime) -> str:
    """Pesapal's timestamps: UTC with seven fractional digits and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@dataclass
class Ipn:
    ipn_id: str
    url: str
    method: str  # GET or POST
    created: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "created_date": pesapal_time(self.created),
            "ipn_id": self.ipn_id,
            "notification_type": 0 if self.method == "GET" else 1,
            "ipn_notification_type_description": self.method,
            "ipn_status": 1,
            "ipn_status_description": "Active",
            "error": None,
            "status": "200",
        }


@dataclass
class Order:
    order_tracking_id: str
    merchant_reference: str
    currency: str
    amount: Decimal
    description: str
    callback_url: str
    ipn: Ipn
    billing_address: dict[str, Any]
    created: datetime
    status_code: int = 0
    status_text: str = "Payment details not found"
    payment_method: str = ""
    payment_account: str = ""
    confirmation_code: str = ""
    paid: datetime | None = None
    refund: dict[str, Any] | None = None
    ipn_deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def redirect_path(self) -> str:
        return "/pesapaliframe/PesapalIframe3/Index/?" + urlencode({"OrderTrackingId": self.order_tracking_id})

    def notification(self, kind: str) -> dict[str, str]:
        return {
            "OrderTrackingId": self.order_tracking_id,
            "OrderMerchantReference": self.merchant_reference,
            "OrderNotificationType": kind,
        }

    def return_url(self) -> str:
        """callback_url with the browser's query parameters (kept after any the merchant put there)."""
        glue = "&" if urlsplit(self.callback_url).query else "?"
        return self.callback_url + glue + urlencode(self.notification("CALLBACKURL"))

    def status_answer(self) -> dict[str, Any]:
        """GetTransactionStatus: the outcome (never in the IPN); an unpaid order says payment_details_not_found."""
        answer: dict[str, Any] = {
            "payment_method": self.payment_method,
            "amount": float(self.amount),
            "created_date": pesapal_time(self.paid or self.created),
            "confirmation_code": self.confirmation_code,
            "payment_status_description": STATUS[self.status_code].capitalize(),
            "description": self.status_text,
            "message": "Request processed successfully",
            "payment_account": self.payment_account,
            "call_back_url": self.return_url(),
            "status_code": self.status_code,
            "merchant_reference": self.merchant_reference,
            "payment_status_code": "",
            "currency": self.currency,
            "error": {"error_type": None, "code": None, "message": None, "call_back_url": None},
            "status": "200",
        }
        if self.status_code == 0:
            answer["error"] = {"error_type": "api_error", "code": "payment_details_not_found",
                               "message": "Pesapal transaction details not found", "call_back_url": None}
            answer["status"] = "500"
        return answer

    def to_dict(self) -> dict[str, Any]:
        """The admin view (not a Pesapal shape)."""
        return {
            "order_tracking_id": self.order_tracking_id,
            "merchant_reference": self.merchant_reference,
            "currency": self.currency,
            "amount": float(self.amount),
            "description": self.description,
            "callback_url": self.callback_url,
            "notification_id": self.ipn.ipn_id,
            "ipn_url": self.ipn.url,
            "billing_address": self.billing_address,
            "redirect_path": self.redirect_path,
            "status_code": self.status_code,
            "payment_status_description": STATUS[self.status_code],
            "payment_method": self.payment_method,
            "confirmation_code": self.confirmation_code,
            "refund": self.refund,
            "ipn_deliveries": list(self.ipn_deliveries),
        }


class Pesapal:
    """The simulator's whole state. Thread-safe, so tests may share one between server restarts."""

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._tokens: dict[str, datetime] = {}
        self.ipns: dict[str, Ipn] = {}
        self.orders: dict[str, Order] = {}
        self._by_reference: dict[str, str] = {}
        self.stats = {"tokens_issued": 0, "ipn_registrations": 0, "orders": 0, "status_queries": 0,
                      "ipns_sent": 0, "refund_requests": 0, "rejected_tokens": 0}
        # Accepted RefundRequests whose answer is lost on the way back (a gateway's 502 page instead): a fault for
        # tests, set by POST /simulator/refunds/lose-answers.
        self.lose_refund_answers = 0

    # --- Auth -----------------------------------------------------------------------------------
    def issue_token(self, body: Any) -> dict[str, Any]:
        key = body.get("consumer_key") if isinstance(body, dict) else None
        secret = body.get("consumer_secret") if isinstance(body, dict) else None
        valid = isinstance(key, str) and isinstance(secret, str) and key and secret
        if valid and not self.settings.accept_any_credentials:
            valid = secrets.compare_digest(key, self.settings.consumer_key) and secrets.compare_digest(
                secret, self.settings.consumer_secret
            )
        if not valid:
            raise PesapalError("invalid_consumer_key_or_secret_provided",
                               "Invalid consumer_key or consumer_secret provided", http_status=401)
        token = secrets.token_urlsafe(96)
        expires = datetime.now(UTC) + timedelta(seconds=self.settings.token_ttl_seconds)
        with self._lock:
            self._tokens[token] = expires
            self.stats["tokens_issued"] += 1
        return {"token": token, "expiryDate": pesapal_time(expires), "error": None, "status": "200",
                "message": "Request processed successfully"}

    def check_token(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            expires = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if expires is None or expires <= datetime.now(UTC):
                self.stats["rejected_tokens"] += 1
                raise PesapalError("invalid_token", "Invalid or expired access token", http_status=401,
                                   error_type="authentication_error")

    def expire_tokens(self) -> int:
        """Admin: every token issued so far stops working, as if its 5 minutes had passed."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
        return count

    # --- IPN URLs -------------------------------------------------------------------------------
    def register_ipn(self, body: Any) -> dict[str, Any]:
        url = body.get("url") if isinstance(body, dict) else None
        method = body.get("ipn_notification_type") if isinstance(body, dict) else None
        if not _http_url(url):
            raise PesapalError("invalid_ipn_url", "A valid url is required")
        if method not in ("GET", "POST"):
            raise PesapalError("invalid_ipn_notification_type", "ipn_notification_type must be GET or POST")
        ipn = Ipn(ipn_id=str(uuid.uuid4()), url=url, method=method, created=datetime.now(UTC))
        with self._lock:
            self.ipns[ipn.ipn_id] = ipn
            self.stats["ipn_registrations"] += 1
        return ipn.to_dict()

    def ipn_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"url": i.url, "created_date": pesapal_time(i.created), "ipn_id": i.ipn_id, "error": None,
                 "status": "200"}
                for i in self.ipns.values()
            ]

    # --- orders ---------------------------------------------------------------------------------
    def submit_order(self, body: Any) -> Order:
        if not isinstance(body, dict):
            raise PesapalError("invalid_request", "The request body must be a JSON object")
        reference = body.get("id")
        if not isinstance(reference, str) or not MERCHANT_REFERENCE.fullmatch(reference):
            raise PesapalError("invalid_merchant_reference",
                               "id is required: at most 50 letters, digits or - _ . :")
        currency = body.get("currency")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise PesapalError("invalid_currency", "currency must be an ISO currency code")
        amount = _amount(body.get("amount"))
        if amount is None:
            raise PesapalError("invalid_amount", "amount must be a number greater than 0")
        description = body.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise PesapalError("invalid_description", "description is required (at most 100 characters)")
        callback_url = body.get("callback_url")
        if not _http_url(callback_url):
            raise PesapalError("invalid_callback_url", "callback_url must be a valid URL")
        billing = body.get("billing_address")
        if not isinstance(billing, dict) or not (billing.get("email_address") or billing.get("phone_number")):
            raise PesapalError("invalid_billing_address", "billing_address needs an email_address or a phone_number")
        with self._lock:
            ipn = self.ipns.get(str(body.get("notification_id")))
            if ipn is None:
                raise PesapalError("invalid_notification_id", "notification_id is not a registered IPN")
            if reference in self._by_reference:
                raise PesapalError("duplicate_merchant_reference", "The merchant reference has already been used")
            order = Order(
                order_tracking_id=str(uuid.uuid4()), merchant_reference=reference, currency=currency,
                amount=amount, description=description, callback_url=callback_url, ipn=ipn,
                billing_address=dict(billing), created=datetime.now(UTC),
            )
            self.orders[order.order_tracking_id] = order
            self._by_reference[reference] = order.order_tracking_id
            self.stats["orders"] += 1
        return order

    def get(self, order_tracking_id: str | None) -> Order | None:
        with self._lock:
            return self.orders.get(order_tracking_id or "")

    def all(self) -> list[Order]:
        with self._lock:
            return sorted(self.orders.values(), key=lambda o: o.created)

    def status(self, order_tracking_id: str | None) -> dict[str, Any]:
        with self._lock:
            self.stats["status_queries"] += 1
            order = self.orders.get(order_tracking_id or "")
        if order is None:
            return {"error": {"error_type": "api_error", "code": "payment_details_not_found",
                              "message": "Pesapal transaction details not found"}, "status": "500"}
        return order.status_answer()

    def pay(self, order: Order, *, card_number: str | None, phone_number: str | None) -> None:
        """The payment page's form: the test cards (or an Airtel Money phone) pick the outcome."""
        with self._lock:
            if order.status_code in (1, 3):
                raise PesapalError("order_already_paid", "This order has already been paid", http_status=409)
            code = secrets.randbelow(10**22)
            order.confirmation_code = f"{code:022d}"
            order.paid = datetime.now(UTC)
            if phone_number:
                order.payment_method = "AirtelKE"
                order.payment_account = phone_number[:-4] + "****" if len(phone_number) > 4 else phone_number
                order.status_code = 2 if phone_number.endswith("0002") else 1
                order.status_text = "Airtel Money payment " + ("failed" if order.status_code == 2 else "completed")
                return
            digits = re.sub(r"\D", "", card_number or "")
            order.payment_method = "Visa" if digits.startswith("4") else "MasterCard"
            order.payment_account = f"{digits[:6]}******{digits[-4:]}" if len(digits) >= 10 else digits
            if digits == PAYS:
                order.status_code, order.status_text = 1, "Transaction processed successfully."
            elif digits == DECLINED:
                order.status_code = 2
                order.status_text = "Unable to Authorize Transaction.Kindly contact your bank for assistance"
            else:
                order.status_code, order.status_text = 2, "Invalid card number"

    def reverse(self, order: Order, reason: str) -> None:
        with self._lock:
            order.status_code = 3
            order.status_text = reason

    # --- refunds --------------------------------------------------------------------------------
    def request_refund(self, body: Any) -> tuple[Order, bool]:
        """RefundRequest: returns the order and whether its answer is to be lost. Pesapal takes one refund request
        per payment ("Multiple refunds are not allowed"): any later one is refused, the same one included."""
        if not isinstance(body, dict):
            raise PesapalError("invalid_request", "The request body must be a JSON object")
        code = body.get("confirmation_code")
        amount = _amount(body.get("amount"))
        username, remarks = body.get("username"), body.get("remarks")
        if not isinstance(code, str) or not code or amount is None:
            raise PesapalError("invalid_refund", "confirmation_code and a positive amount are required")
        if not isinstance(username, str) or not username or not isinstance(remarks, str) or not remarks:
            raise PesapalError("invalid_refund", "username and remarks are required")
        with self._lock:
            self.stats["refund_requests"] += 1
            order = next((o for o in self.orders.values() if o.confirmation_code == code), None)
            if order is None:
                raise PesapalError("refund_rejected", "No payment has this confirmation_code", http_status=500)
            if order.refund is not None:
                raise PesapalError("refund_rejected", "Only one refund can be requested per payment", http_status=500)
            if order.status_code != 1:
                raise PesapalError("refund_rejected", "Only COMPLETED payments can be refunded", http_status=500)
            if amount > order.amount:
                raise PesapalError("refund_rejected", "You can't refund more than was collected", http_status=500)
            if order.payment_method.startswith("Airtel") and amount != order.amount:
                raise PesapalError("refund_rejected", "Mobile money payments can only be refunded in full",
                                   http_status=500)
            order.refund = {"amount": float(amount), "username": username, "remarks": remarks,
                            "requested_at": datetime.now(UTC).isoformat()}
            lost = self.lose_refund_answers > 0
            self.lose_refund_answers -= lost
        return order, lost

    def record_delivery(self, order: Order, record: dict[str, Any]) -> None:
        with self._lock:
            order.ipn_deliveries.append(record)
            self.stats["ipns_sent"] += 1


def _http_url(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 2048:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount > 0 else None
