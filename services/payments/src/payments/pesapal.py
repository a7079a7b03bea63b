"""Pesapal API 3.0 (cards and Airtel Money) as a payment provider: SubmitOrderRequest to collect (the payer pays on
Pesapal's page), GetTransactionStatus to learn the outcome (the IPN never carries it), RefundRequest to refund.

Only this module knows Pesapal's field names. Errors are the providers' (ProviderUnavailable / ProviderUncertain /
ProviderRefused). The 5-minute access token is shared by every replica (payments.token_cache), refreshed early, and
refreshed once when Pesapal refuses it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from payments.daraja import TokenStore
from payments.daraja_wire import as_decimal, as_int
from payments.models import PesapalIpn
from payments.providers import (
    ProviderError,
    ProviderRefused,
    ProviderUnavailable,
    ProviderUncertain,
    Settlement,
    StartedPayment,
    StartedPayout,
)
from payments.settings import PESAPAL_IPN_PATH, Settings
from payments.token_cache import SharedToken

log = logging.getLogger("payments.pesapal")

COMPLETED, FAILED, REVERSED = 1, 2, 3
ABANDONED = 9  # PaymentFailed's result code of a card order nobody paid in time (Pesapal has no code for it)
NOT_FOUND = "payment_details_not_found"  # an order nobody has paid yet (or no such order)
CARD_MAX_AMOUNT = 10_000_000  # a sanity bound: cards are how amounts above M-PESA's limit are paid


@dataclass(frozen=True)
class OrderStatus:
    """GetTransactionStatus of a decided order (1 completed, 2 failed, 3 reversed)."""

    status_code: int
    description: str
    amount: Decimal | None
    currency: str | None
    confirmation_code: str | None
    payment_method: str | None
    merchant_reference: str | None


@dataclass(frozen=True)
class SubmittedOrder:
    order_tracking_id: str
    merchant_reference: str
    redirect_url: str


@dataclass(frozen=True)
class Customer:
    """Pesapal's billing_address: who pays (Pesapal needs an email address or a phone number)."""

    email: str | None
    phone: str | None
    name: str | None


class PesapalClient:
    """Pesapal API 3.0 over the process's httpx client."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        token_store: TokenStore,
        timeout: float = 10.0,
        refresh_margin: float = 60.0,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._credentials = {"consumer_key": consumer_key, "consumer_secret": consumer_secret}
        self._timeout = timeout
        self.token = SharedToken(token_store, self._fetch_token, margin=refresh_margin)

    def _fetch_token(self) -> tuple[str, float]:
        response = self._send("POST", "/api/Auth/RequestToken", json=self._credentials)
        body = _json(response)
        token = body.get("token") if isinstance(body, dict) else None
        if response.status_code == 200 and isinstance(body, dict) and isinstance(token, str) and token:
            return token, _seconds_until(body.get("expiryDate"))
        raise _error(response, body, "Pesapal refused our credentials")

    def register_ipn(self, url: str, method: str) -> str:
        response, body = self._authorized("POST", "/api/URLSetup/RegisterIPN",
                                          json={"url": url, "ipn_notification_type": method})
        ipn_id = body.get("ipn_id") if isinstance(body, dict) else None
        if response.status_code == 200 and isinstance(ipn_id, str) and ipn_id:
            return ipn_id
        raise _error(response, body, "Pesapal did not register the IPN URL")

    def ipn_list(self) -> list[dict[str, Any]]:
        response, body = self._authorized("GET", "/api/URLSetup/GetIpnList")
        if response.status_code == 200 and isinstance(body, list):
            return [entry for entry in body if isinstance(entry, dict)]
        raise _error(response, body if isinstance(body, dict) else None, "Pesapal did not list the IPN URLs")

    def submit_order(self, payload: dict[str, Any]) -> SubmittedOrder:
        response, body = self._authorized("POST", "/api/Transactions/SubmitOrderRequest", json=payload)
        if isinstance(body, dict) and response.status_code == 200 and not _error_object(body):
            tracking, redirect = body.get("order_tracking_id"), body.get("redirect_url")
            if isinstance(tracking, str) and tracking and isinstance(redirect, str) and redirect:
                return SubmittedOrder(tracking, str(body.get("merchant_reference") or payload["id"]), redirect)
        raise _error(response, body if isinstance(body, dict) else None, "Pesapal did not accept the order")

    def transaction_status(self, order_tracking_id: str) -> OrderStatus | None:
        """The order's decided status, or None while nobody has paid it (Pesapal: INVALID / details not found)."""
        response, body = self._authorized(
            "GET", "/api/Transactions/GetTransactionStatus", params={"orderTrackingId": order_tracking_id}
        )
        if not isinstance(body, dict) or response.status_code != 200:
            raise _error(response, body if isinstance(body, dict) else None, "Pesapal could not report on the payment")
        code, amount = as_int(body.get("status_code")), as_decimal(body.get("amount"))
        if code == COMPLETED and amount is None:
            # A completed order settles only for the amount charged, in KES: one that does not tell it (or tells an
            # amount no payment can have) is not believed; asked again later, as any refusal.
            if body.get("amount") is None:
                raise ProviderRefused("Pesapal reported the order paid without its amount")
            raise ProviderRefused(f"Pesapal reported the order paid with an unreadable amount: {body['amount']!r:.40}")
        if code == COMPLETED and not body.get("currency"):
            raise ProviderRefused("Pesapal reported the order paid without its currency")
        if code in (COMPLETED, FAILED, REVERSED):
            return OrderStatus(
                status_code=code,
                description=str(body.get("description") or body.get("payment_status_description") or ""),
                amount=amount,
                currency=str(body["currency"]) if body.get("currency") else None,
                confirmation_code=str(body["confirmation_code"]) if body.get("confirmation_code") else None,
                payment_method=str(body["payment_method"]) if body.get("payment_method") else None,
                merchant_reference=str(body["merchant_reference"]) if body.get("merchant_reference") else None,
            )
        error = _error_object(body)
        if code == 0 or (error and error.get("code") == NOT_FOUND):
            return None
        raise _error(response, body, "Pesapal could not report on the payment")

    def refund(self, *, confirmation_code: str, amount: int, username: str, remarks: str) -> None:
        """RefundRequest: accepted means Pesapal will refund (the payment then shows as REVERSED)."""
        payload = {"confirmation_code": confirmation_code, "amount": f"{amount:.2f}", "username": username,
                   "remarks": remarks[:100] or "Refund"}
        response, body = self._authorized("POST", "/api/Transactions/RefundRequest", json=payload)
        if isinstance(body, dict) and str(body.get("status")) == "200" and response.status_code == 200:
            return
        if isinstance(body, dict) and body.get("message") and not _error_object(body):
            raise ProviderRefused(str(body["message"]), code=str(body.get("status")))
        raise _error(response, body if isinstance(body, dict) else None, "Pesapal did not accept the refund")

    # --- transport ------------------------------------------------------------------------------
    def _authorized(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, Any]:
        """Call with the Bearer token; when Pesapal refuses it (401), refresh it once and retry."""
        def send(token: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            return self._send(method, path, headers=headers, **kwargs)

        response = self.token.call(send, refused=lambda r: r.status_code == 401, provider="Pesapal")
        return response, _json(response)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", {"Accept": "application/json"})
        try:
            return self._http.request(method, self._base_url + path, timeout=self._timeout, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            log.warning("Pesapal unreachable on %s: %s", path, exc)
            raise ProviderUnavailable("Pesapal is unavailable, please retry") from None
        except httpx.TimeoutException:
            log.warning("Pesapal sent no answer in time on %s", path)
            raise ProviderUncertain("Pesapal did not answer in time") from None
        except httpx.HTTPError as exc:
            log.warning("Pesapal's answer was lost on %s: %s", path, exc)
            raise ProviderUncertain("Pesapal's answer was lost") from None


class IpnRegistry:
    """The IPN id of our IPN URL: given by the operator, or registered with Pesapal once and kept in the database
    (an earlier registration of the same URL, from GetIpnList, is reused)."""

    def __init__(self, client: PesapalClient, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._client = client
        self._session_factory = session_factory
        self.url = settings.public_base_url.rstrip("/") + PESAPAL_IPN_PATH + settings.pesapal_ipn_token
        self._method = settings.pesapal_ipn_method
        self._ipn_id = settings.pesapal_ipn_id

    def ipn_id(self) -> str:
        if self._ipn_id:
            return self._ipn_id
        with self._session_factory() as session:
            row = session.get(PesapalIpn, self.url)
            known = row.ipn_id if row is not None else None
        if known is None:  # no transaction open while Pesapal is asked
            listed = [i for i in self._client.ipn_list() if i.get("url") == self.url and i.get("ipn_id")]
            registered = str(listed[0]["ipn_id"]) if listed else self._client.register_ipn(self.url, self._method)
            with self._session_factory() as session:
                session.execute(insert(PesapalIpn).values(url=self.url, ipn_id=registered).on_conflict_do_nothing())
                session.commit()
                row = session.get(PesapalIpn, self.url)
                known = row.ipn_id if row is not None else registered
            log.info("Pesapal IPN URL registered (ipn_id %s)", known)
        self._ipn_id = known
        return known


class PesapalProvider:
    """Card and Airtel Money payments through Pesapal (method `card`)."""

    method = "card"
    name = "Pesapal"
    max_amount = CARD_MAX_AMOUNT

    def __init__(self, client: PesapalClient, ipns: IpnRegistry, settings: Settings) -> None:
        self.client = client
        self.ipns = ipns
        self._settings = settings

    def for_customer(self, customer: Customer) -> PesapalCheckout:
        return PesapalCheckout(self, customer)

    def start(self, *, amount: int, payer: str, account_reference: str, callback_token: str) -> StartedPayment:
        return self.for_customer(Customer(email=None, phone=payer, name=None)).start(
            amount=amount, payer=payer, account_reference=account_reference, callback_token=callback_token
        )

    def submit(self, *, amount: int, customer: Customer, account_reference: str, callback_token: str) -> StartedPayment:
        """SubmitOrderRequest. An order whose answer was lost is as good as never made (nobody has its page), so
        an uncertain outcome is reported as 'not sent': the customer may simply try again."""
        reference = f"{re.sub(r'[^A-Za-z0-9-]', '-', account_reference)}-{callback_token[:12]}"
        first, _, last = (customer.name or "").strip().partition(" ")
        try:
            payload = {
                "id": reference[:50],
                "currency": "KES",
                "amount": amount,
                "description": f"Jesh Storage {account_reference}"[:100],
                "callback_url": self._settings.card_return_url,
                "notification_id": self.ipns.ipn_id(),
                "billing_address": {
                    "email_address": customer.email or "",
                    "phone_number": customer.phone or "",
                    "country_code": "KE",
                    "first_name": first,
                    "last_name": last.strip(),
                },
            }
            order = self.client.submit_order(payload)
        except ProviderUncertain as exc:
            raise ProviderUnavailable(f"{exc.message}; nothing was charged, please retry") from None
        except ProviderRefused as exc:
            raise ProviderRefused(f"Pesapal refused the payment request: {exc.message}", code=exc.code) from None
        return StartedPayment(
            reference=order.order_tracking_id,
            merchant_reference=order.merchant_reference,
            answer={"redirect_url": order.redirect_url, "order_tracking_id": order.order_tracking_id},
        )

    def check(self, *, reference: str) -> Settlement | None:
        status = self.client.transaction_status(reference)
        return None if status is None else settlement_of(status)

    def pay_out(
        self, *, amount: int, payee: str, originator_id: str, result_token: str, remarks: str
    ) -> StartedPayout:
        """A refund to the card (or wallet) that paid: `payee` is the payment's confirmation code."""
        if not payee:
            raise ProviderRefused("The payment has no Pesapal confirmation code to refund")
        self.client.refund(confirmation_code=payee, amount=amount,
                           username=self._settings.pesapal_refund_username, remarks=remarks)
        return StartedPayout(conversation_id=payee)

    def confirm_payout(self, *, originator_id: str, result_token: str) -> None:
        raise ProviderRefused("A card refund is confirmed by the order's status (REVERSED), not by a payout query")


class PesapalCheckout:
    """The provider bound to one customer's billing details (what initiate's `start` cannot pass)."""

    method = PesapalProvider.method
    name = PesapalProvider.name
    max_amount = PesapalProvider.max_amount

    def __init__(self, provider: PesapalProvider, customer: Customer) -> None:
        self._provider = provider
        self._customer = customer

    def start(self, *, amount: int, payer: str, account_reference: str, callback_token: str) -> StartedPayment:
        return self._provider.submit(amount=amount, customer=self._customer, account_reference=account_reference,
                                     callback_token=callback_token)

    def check(self, *, reference: str) -> Settlement | None:
        return self._provider.check(reference=reference)

    def pay_out(
        self, *, amount: int, payee: str, originator_id: str, result_token: str, remarks: str
    ) -> StartedPayout:
        return self._provider.pay_out(amount=amount, payee=payee, originator_id=originator_id,
                                      result_token=result_token, remarks=remarks)

    def confirm_payout(self, *, originator_id: str, result_token: str) -> None:
        self._provider.confirm_payout(originator_id=originator_id, result_token=result_token)


def settlement_of(status: OrderStatus) -> Settlement:
    """Pesapal's status as a Settlement (result code 0 = completed; otherwise Pesapal's status_code)."""
    if status.status_code == COMPLETED:
        return Settlement(0, status.description or "Completed", amount=status.amount, currency=status.currency,
                          receipt=status.confirmation_code)
    if status.status_code == REVERSED:
        return Settlement(REVERSED, status.description or "Reversed", reason=reason_for(REVERSED, None))
    return Settlement(FAILED, status.description or "Failed", reason=reason_for(FAILED, status.description))


def reason_for(result_code: int, description: str | None) -> str:
    """Why a card payment did not succeed, in words a customer reads: PaymentFailed's reason, and the status
    answer's (which must not read a card's code in M-PESA's table: 2 there is "below M-PESA's minimum")."""
    if result_code == REVERSED:
        return "The payment was reversed"
    if result_code == ABANDONED:
        return "The card payment was not completed"
    return f"The card payment failed: {description}" if description else "The card payment failed"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_object(body: dict[str, Any]) -> dict[str, Any] | None:
    error = body.get("error")
    return error if isinstance(error, dict) and (error.get("code") or error.get("message")) else None


def _error(response: httpx.Response, body: dict[str, Any] | None, fallback: str) -> ProviderError:
    error = _error_object(body) if body else None
    if error:
        return ProviderRefused(str(error.get("message") or fallback), code=str(error.get("code") or ""))
    log.warning("Pesapal answered HTTP %s without a usable body", response.status_code)
    message = f"Pesapal answered unexpectedly (HTTP {response.status_code}), please retry"
    if response.status_code >= 500:  # a gateway's error page: the request may have been acted upon
        return ProviderUncertain(message)
    return ProviderRefused(message)


def _seconds_until(expiry: Any) -> float:
    """expiryDate (UTC, maybe 7 fractional digits or no zone) as seconds from now; 5 minutes if unreadable."""
    try:
        text = re.sub(r"(\.\d{6})\d+", r"\1", str(expiry)).replace("Z", "+00:00")
        moment = datetime.fromisoformat(text)
    except ValueError:
        return 300.0
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return max((moment - datetime.now(UTC)).total_seconds(), 1.0)
