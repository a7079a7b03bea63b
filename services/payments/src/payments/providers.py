"""Payment providers behind one small interface, so that a new method (Pesapal card, later) never touches the
payment flow. The one set of errors every provider (and the Daraja client under M-PESA) raises lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class ProviderError(Exception):
    """The provider could not do what was asked; `message` is one readable sentence."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ProviderUnavailable(ProviderError):
    """The request surely never reached the provider (refused connection, connect timeout): nothing happened."""


class ProviderUncertain(ProviderError):
    """The request may have reached the provider, but no usable answer came back (read timeout, reset
    after sending, a gateway error): it may have been acted upon, so it must be treated as possibly sent."""


class ProviderRefused(ProviderError):
    """The provider answered with a refusal: nothing happened."""


@dataclass(frozen=True)
class StartedPayment:
    """The provider accepted the request; the payer still has to pay."""

    reference: str  # what callbacks and status checks are matched by (M-PESA: CheckoutRequestID)
    merchant_reference: str
    answer: dict[str, str]  # the provider's own fields the client sees (Daraja's names for M-PESA)


@dataclass(frozen=True)
class Settlement:
    """The provider's final word on a payment. A provider whose status report carries the money (Pesapal) gives
    `amount` and `currency`, which must be what was charged; `receipt` its transaction code; `reason` the words
    a customer reads when it failed."""

    result_code: int
    result_desc: str
    amount: Decimal | None = None
    currency: str | None = None
    receipt: str | None = None
    reason: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.result_code == 0


@dataclass(frozen=True)
class StartedPayout:
    """The provider accepted a payout (a refund); its result arrives later."""

    conversation_id: str


class PaymentProvider(Protocol):
    method: str
    name: str  # as customers know it, in messages
    max_amount: int  # KES per payment

    def start(self, *, amount: int, payer: str, account_reference: str, callback_token: str) -> StartedPayment:
        """Ask the payer to pay `amount`; the outcome arrives on the push's own callback (`callback_token`).
        Raises ProviderRefused / ProviderUnavailable (nothing sent) or ProviderUncertain (maybe sent)."""
        ...

    def check(self, *, reference: str) -> Settlement | None:
        """The settled outcome, or None while still undecided; raises a ProviderError."""
        ...

    def pay_out(
        self, *, amount: int, payee: str, originator_id: str, result_token: str, remarks: str
    ) -> StartedPayout:
        """Send money back (a refund); `originator_id` is unique per payout, so sending it again never pays
        twice; the result arrives on the payout's own result URL (`result_token`). Raises a ProviderError."""
        ...

    def confirm_payout(self, *, originator_id: str, result_token: str) -> None:
        """Ask what became of a payout whose result never came; the answer arrives on the payout's own status URL
        (`result_token`). Raises a ProviderError (ProviderRefused where the provider has no such question)."""
        ...


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
