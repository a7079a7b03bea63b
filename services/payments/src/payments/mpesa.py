"""M-PESA as a payment provider: STK Push to collect, STK Push Query to confirm, B2C to pay refunds; the Paybill's
URLs, Transaction Status to confirm what customers paid to it, and Pull Transactions to find what they paid when its
confirmation never came."""

from __future__ import annotations

from datetime import datetime

from payments.daraja import DarajaClient
from payments.daraja_wire import MAX_AMOUNT, PulledPayment
from payments.providers import ProviderRefused, Settlement, StartedPayment, StartedPayout
from payments.settings import (
    B2C_RESULT_PATH,
    B2C_STATUS_PATH,
    B2C_TIMEOUT_PATH,
    CALLBACK_PATH,
    PAYBILL_CONFIRMATION_PATH,
    PAYBILL_NOTICES_PATH,
    PAYBILL_STATUS_PATH,
    PAYBILL_VALIDATION_PATH,
    Settings,
)


class MpesaProvider:
    """M-PESA Express (STK Push) and B2C through Daraja."""

    method = "mpesa"
    name = "M-PESA"
    max_amount = MAX_AMOUNT

    def __init__(self, daraja: DarajaClient, settings: Settings) -> None:
        self._daraja = daraja
        self._settings = settings

    def _url(self, path: str, token: str) -> str:
        return self._settings.public_base_url.rstrip("/") + path + token

    def start(self, *, amount: int, payer: str, account_reference: str, callback_token: str) -> StartedPayment:
        try:
            accepted = self._daraja.stk_push(
                amount=amount,
                phone_number=payer,
                callback_url=self._url(CALLBACK_PATH, callback_token),
                account_reference=account_reference,
                transaction_desc=self._settings.mpesa_transaction_desc,
                transaction_type=self._settings.mpesa_transaction_type,
                party_b=self._settings.mpesa_payee,
            )
        except ProviderRefused as exc:
            raise ProviderRefused(f"M-PESA refused the payment request: {exc.message}", code=exc.code) from None
        return StartedPayment(
            reference=accepted.checkout_request_id,
            merchant_reference=accepted.merchant_request_id,
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
        except ProviderRefused as exc:
            raise ProviderRefused(f"M-PESA could not report on the payment: {exc.message}", code=exc.code) from None
        if result is None:
            return None
        return Settlement(result_code=result.result_code, result_desc=result.result_desc)

    def pay_out(
        self, *, amount: int, payee: str, originator_id: str, result_token: str, remarks: str
    ) -> StartedPayout:
        settings = self._settings
        conversation_id = self._daraja.b2c_payment(
            originator_conversation_id=originator_id,
            initiator_name=settings.mpesa_b2c_initiator_name,
            security_credential=settings.mpesa_b2c_security_credential,
            command_id="BusinessPayment",
            amount=amount,
            party_a=settings.mpesa_b2c_shortcode,
            phone_number=payee,
            remarks=remarks,
            result_url=self._url(B2C_RESULT_PATH, result_token),
            queue_timeout_url=self._url(B2C_TIMEOUT_PATH, result_token),
            occasion="Refund",
        )
        return StartedPayout(conversation_id=conversation_id)

    def confirm_payout(self, *, originator_id: str, result_token: str) -> None:
        settings = self._settings
        url = self._url(B2C_STATUS_PATH, result_token)
        self._daraja.transaction_status(
            original_conversation_id=originator_id,
            initiator_name=settings.mpesa_b2c_initiator_name,
            security_credential=settings.mpesa_b2c_security_credential,
            party_a=settings.mpesa_b2c_shortcode,
            result_url=url,
            queue_timeout_url=url,
            remarks="Refund status",
        )

    # --- the Paybill (C2B) ------------------------------------------------------------------------
    def register_paybill(self) -> dict[str, str]:
        """Register the Paybill's validation and confirmation URLs with M-PESA (the secret segment hidden in the
        answer)."""
        settings = self._settings
        paybill, token = settings.paybill, settings.mpesa_c2b_token
        if paybill is None or token is None:
            raise ProviderRefused("The Paybill is not configured (MPESA_C2B_TOKEN)")
        description = self._daraja.register_c2b_urls(
            shortcode=paybill, response_type=settings.mpesa_c2b_response_type,
            confirmation_url=self._url(PAYBILL_CONFIRMATION_PATH, token),
            validation_url=self._url(PAYBILL_VALIDATION_PATH, token),
        )
        return {"business_number": paybill, "response_type": settings.mpesa_c2b_response_type,
                "confirmation_url": self._url(PAYBILL_CONFIRMATION_PATH, "…"),
                "validation_url": self._url(PAYBILL_VALIDATION_PATH, "…"), "answer": description}

    def confirm_paybill(self, *, trans_id: str, result_token: str) -> None:
        """Ask M-PESA (Transaction Status) whether a customer's Paybill payment is real; the answer comes later."""
        settings = self._settings
        url = self._url(PAYBILL_STATUS_PATH, result_token)
        initiator, credential = settings.paybill_initiator
        self._daraja.transaction_status(
            original_conversation_id="",
            transaction_id=trans_id,
            initiator_name=initiator,
            security_credential=credential,
            party_a=settings.paybill or settings.mpesa_shortcode,
            result_url=url,
            queue_timeout_url=url,
            remarks="Paybill payment check",
        )

    def register_pull(self, nominated_number: str) -> str:
        """Register the paybill for Pull Transactions, `nominated_number` the organisation's Safaricom number (once;
        registered already is fine); M-PESA's description."""
        settings = self._settings
        if settings.paybill is None or settings.mpesa_c2b_token is None:
            raise ProviderRefused("The Paybill is not configured (MPESA_C2B_TOKEN)")
        return self._daraja.register_pull(shortcode=settings.paybill, nominated_number=nominated_number,
                                          callback_url=self._url(PAYBILL_NOTICES_PATH, settings.mpesa_c2b_token))

    def pull_paybill(self, *, start: datetime, end: datetime, offset: int) -> list[PulledPayment]:
        """The payments customers made to the paybill between start and end, from row `offset` (a page)."""
        assert self._settings.paybill is not None
        return self._daraja.pull_transactions(shortcode=self._settings.paybill, start=start, end=end, offset=offset)
