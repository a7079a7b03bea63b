"""Payment providers behind one small interface, so that a new method never touches the booking flow.

Only M-PESA (STK Push through Daraja) is built; `paypal` and `card` are reserved method names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from payments.daraja import DarajaClient, DarajaRefused, DarajaUnavailable
from payments.settings import CALLBACK_PATH, Settings


class ProviderError(Exception):
    """The provider could not do what was asked; `message` is one readable sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProviderUnavailable(ProviderError):
    """The provider is down or did not answer in time: retry later."""


class ProviderRefused(ProviderError):
    """The provider answered with a refusal."""


@dataclass(frozen=True)
class StartedPayment:
    """The provider accepted the request; the payer still has to pay."""

    reference: str  # what callbacks and status checks are matched by (M-PESA: CheckoutRequestID)
    merchant_reference: str
    callback_token: str
    answer: dict[str, str]  # the provider's own fields the client sees (Daraja's names for M-PESA)


@dataclass(frozen=True)
class Settlement:
    """The provider's final word on a payment."""

    result_code: int
    result_desc: str

    @property
    def succeeded(self) -> bool:
        return self.result_code == 0


class PaymentProvider(Protocol):
    method: str

    def start(self, *, amount: int, payer: str, account_reference: str) -> StartedPayment:
        """Ask the payer to pay `amount`; raises ProviderRefused / ProviderUnavailable."""
        ...

    def check(self, *, reference: str) -> Settlement | None:
        """The settled outcome, or None while still undecided; raises ProviderRefused / ProviderUnavailable."""
        ...


class MpesaProvider:
    """M-PESA Express (STK Push) through Daraja."""

    method = "mpesa"

    def __init__(self, daraja: DarajaClient, settings: Settings, *, callback_token: str) -> None:
        self._daraja = daraja
        self._settings = settings
        self.callback_token = callback_token

    @property
    def callback_url(self) -> str:
        return self._settings.public_base_url.rstrip("/") + CALLBACK_PATH + self.callback_token

    def start(self, *, amount: int, payer: str, account_reference: str) -> StartedPayment:
        try:
            accepted = self._daraja.stk_push(
                amount=amount,
                phone_number=payer,
                callback_url=self.callback_url,
                account_reference=account_reference,
                transaction_desc=self._settings.mpesa_transaction_desc,
                transaction_type=self._settings.mpesa_transaction_type,
                party_b=self._settings.mpesa_payee,
            )
        except DarajaUnavailable as exc:
            raise ProviderUnavailable(exc.message) from None
        except DarajaRefused as exc:
            raise ProviderRefused(f"M-PESA refused the payment request: {exc.message}") from None
        return StartedPayment(
            reference=accepted.checkout_request_id,
            merchant_reference=accepted.merchant_request_id,
            callback_token=self.callback_token,
            answer={
                "MerchantRequestID": accepted.merchant_request_id,
                "CheckoutRequestID": accepted.checkout_request_id,
                "ResponseCode": accepted.response_code,
                "ResponseDescription": accepted.response_description,
                "CustomerMessage": accepted.customer_message,
            },
        )

    def check(self, *, reference: str) -> Settlement | None:
        try:
            result = self._daraja.stk_query(reference)
        except DarajaUnavailable as exc:
            raise ProviderUnavailable(exc.message) from None
        except DarajaRefused as exc:
            raise ProviderRefused(f"M-PESA could not report on the payment: {exc.message}") from None
        if result is None:
            return None
        return Settlement(result_code=result.result_code, result_desc=result.result_desc)


class PaymentProviders:
    """The providers of this process, by method name (filled at start-up)."""

    def __init__(self) -> None:
        self._by_method: dict[str, PaymentProvider] = {}

    def register(self, provider: PaymentProvider) -> None:
        self._by_method[provider.method] = provider

    def get(self, method: str) -> PaymentProvider:
        try:
            return self._by_method[method]
        except KeyError:
            raise ProviderUnavailable(f"Payments by {method} are not available") from None
