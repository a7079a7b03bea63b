"""Payments settings: the shared base plus this service's own knobs."""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import Field, field_validator, model_validator

from jeshkit.settings import ServiceSettings

SANDBOX_SHORTCODE = "174379"
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
DEV_CONSUMER_KEY = "jesh-dev-consumer-key"
DEV_CONSUMER_SECRET = "jesh-dev-consumer-secret"
# Safaricom refuses callback URLs containing these words.
FORBIDDEN_CALLBACK_WORDS = ("mpesa", "m-pesa", "safaricom", "exe", "cmd", "sql", "query")


def new_callback_token() -> str:
    """The secret last segment of a callback or result URL given to Daraja (STK Push, B2C, Transaction Status): hex,
    so that it never spells one of FORBIDDEN_CALLBACK_WORDS (a random base64 token would, for a few in a thousand:
    Daraja would refuse every request naming it)."""
    return secrets.token_hex(24)
CALLBACK_PATH = "/api/payments/hooks/stk/"
B2C_RESULT_PATH = "/api/payments/hooks/b2c/result/"
B2C_TIMEOUT_PATH = "/api/payments/hooks/b2c/timeout/"
B2C_STATUS_PATH = "/api/payments/hooks/b2c/status/"
PAYBILL_VALIDATION_PATH = "/api/payments/hooks/paybill/validation/"
PAYBILL_CONFIRMATION_PATH = "/api/payments/hooks/paybill/confirmation/"
PAYBILL_STATUS_PATH = "/api/payments/hooks/paybill/status/"
PAYBILL_NOTICES_PATH = "/api/payments/hooks/paybill/notices/"  # Pull Transactions' CallBackURL (only logged)
DEV_B2C_CREDENTIAL = "jesh-dev-b2c-security-credential"
DEV_PESAPAL_KEY = "jesh-dev-pesapal-key"
DEV_PESAPAL_SECRET = "jesh-dev-pesapal-secret"
DEV_PESAPAL_IPN_TOKEN = "jesh-dev-pesapal-ipn-token"
PESAPAL_IPN_PATH = "/api/payments/hooks/pesapal/"
CARD_RETURN_PATH = "/api/payments/card/return"


class Settings(ServiceSettings):
    service_name: str = "payments"

    # Daraja: the local simulator in development, sandbox or production otherwise.
    daraja_base_url: str = "http://127.0.0.1:8010"
    daraja_consumer_key: str = DEV_CONSUMER_KEY
    daraja_consumer_secret: str = DEV_CONSUMER_SECRET
    daraja_timeout_seconds: float = 10.0
    # Daraja's callbacks (STK, B2C, C2B) are answered within this long even when applying one waits on Daraja (the
    # STK Push Query that confirms a success); it goes on being applied after the answer. Not Pesapal's IPN.
    callback_answer_seconds: float = Field(default=2.0, gt=0)
    # Refresh the OAuth token this long before Daraja says it expires.
    daraja_token_refresh_margin_seconds: float = 60.0

    mpesa_shortcode: str = SANDBOX_SHORTCODE
    mpesa_passkey: str = SANDBOX_PASSKEY
    mpesa_transaction_type: Literal["CustomerPayBillOnline", "CustomerBuyGoodsOnline"] = "CustomerPayBillOnline"
    # The till number for CustomerBuyGoodsOnline; the shortcode itself when unset.
    mpesa_party_b: str | None = None
    mpesa_transaction_desc: str = "Unit rental"
    # Secret path segment of the CallBackURL; unset: a random one per process, and the compat
    # /api/payments/mpesa/callback path is processed too.
    mpesa_callback_token: str | None = None

    # B2C (refunds): the paying shortcode, the API initiator and its password encrypted with Safaricom's
    # certificate (RSA PKCS#1 v1.5, base64; the portal's "generate credential" gives it).
    mpesa_b2c_shortcode: str = "600000"
    mpesa_b2c_initiator_name: str = "testapi"
    mpesa_b2c_security_credential: str = DEV_B2C_CREDENTIAL
    # A payout M-PESA accepted whose result has not come this long after is asked about (Transaction Status query)
    # instead of being sent again.
    refund_result_wait_seconds: float = 120.0

    # Paybill (M-PESA C2B: customers pay from their phone's menu with an account number). On when MPESA_C2B_TOKEN,
    # the secret last path segment of the validation and confirmation URLs registered with Safaricom, is set.
    mpesa_c2b_token: str | None = None
    # The paybill customers pay to; MPESA_SHORTCODE when unset.
    mpesa_c2b_shortcode: str | None = None
    # Who asks Transaction Status about the Paybill's payments: an API operator of the paybill's organisation with the
    # "Transaction Status query ORG API" role; the B2C initiator when unset (one organisation for both).
    mpesa_c2b_initiator_name: str | None = None
    mpesa_c2b_security_credential: str | None = None
    # What M-PESA does when our validation URL cannot answer: Completed (take the money) or Cancelled.
    mpesa_c2b_response_type: Literal["Completed", "Cancelled"] = "Completed"
    # A paybill payment whose Transaction Status result has not come this long after asking is asked about again.
    paybill_status_wait_seconds: float = 30.0
    # Pull Transactions (once registered by an admin): every this often one replica lists the Paybill's payments of
    # the last hours and takes any whose confirmation never came (checked by Transaction Status like the others);
    # 0: never.
    paybill_pull_interval_seconds: float = 600.0

    public_base_url: str = "http://127.0.0.1:5000"
    booking_url: str = "http://127.0.0.1:8003"
    # billing's internal base URL (invoice payments); unset: invoice payments answer 503
    billing_url: str | None = None

    # A push still pending this long is settled by STK Push Query.
    payment_reconcile_after_seconds: float = 120.0
    reconcile_interval_seconds: float = 15.0
    # How many pending pushes one reconciliation round checks at most.
    reconcile_batch_size: int = 25
    # Queries of one push before it is parked as `unknown` for an admin (backoff doubles up to 10 minutes).
    payment_reconcile_max_attempts: int = 12

    # A push is refused (409) when the booking's hold has less than this left: the payer needs the prompt's
    # lifetime to answer. Never more than a quarter of BOOKING_HOLD_SECONDS (short holds in tests).
    payment_min_hold_seconds: float = 60.0
    booking_hold_seconds: float = 900.0

    # Kept when an owner cancels a paid booking before it starts (an admin's cancellation refunds in full).
    cancellation_fee_kes: int = 0

    # Pesapal API 3.0 (card, Airtel Money): the local simulator in development; sandbox
    # https://cybqa.pesapal.com/pesapalv3 or live https://pay.pesapal.com/v3 otherwise.
    pesapal_base_url: str = "http://127.0.0.1:8011"
    pesapal_consumer_key: str = DEV_PESAPAL_KEY
    pesapal_consumer_secret: str = DEV_PESAPAL_SECRET
    # Secret last path segment of the IPN URL registered with Pesapal
    # ({PUBLIC_BASE_URL}/api/payments/hooks/pesapal/<it>).
    pesapal_ipn_token: str = DEV_PESAPAL_IPN_TOKEN
    # How Pesapal calls the IPN URL; an IPN id registered beforehand may be given (else registered once and kept).
    pesapal_ipn_method: Literal["GET", "POST"] = "GET"
    pesapal_ipn_id: str | None = None
    # Where Pesapal sends the payer's browser back (the frontend's page);
    # unset: {PUBLIC_BASE_URL}/api/payments/card/return.
    pesapal_callback_url: str | None = None
    pesapal_timeout_seconds: float = 10.0
    pesapal_token_refresh_margin_seconds: float = 60.0
    # A card order nobody paid this long after it was made is failed (its page abandoned), freeing the booking.
    pesapal_order_timeout_seconds: float = 1800.0
    # Who asks Pesapal for refunds (RefundRequest's `username`).
    pesapal_refund_username: str = "Jesh Storage"

    @property
    def min_hold_seconds(self) -> float:
        return min(self.payment_min_hold_seconds, self.booking_hold_seconds / 4)

    @property
    def card_return_url(self) -> str:
        return self.pesapal_callback_url or self.public_base_url.rstrip("/") + CARD_RETURN_PATH

    @field_validator("mpesa_callback_token", "mpesa_party_b", "pesapal_ipn_id", "pesapal_callback_url",
                     "mpesa_c2b_token", "mpesa_c2b_shortcode", "mpesa_c2b_initiator_name",
                     "mpesa_c2b_security_credential", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _callback_url_acceptable_to_safaricom(self) -> Settings:
        for knob, url in (("MPESA_CALLBACK_TOKEN", CALLBACK_PATH + (self.mpesa_callback_token or "")),
                          ("MPESA_C2B_TOKEN", PAYBILL_CONFIRMATION_PATH + (self.mpesa_c2b_token or ""))):
            bad = [word for word in FORBIDDEN_CALLBACK_WORDS if word in (self.public_base_url + url).lower()]
            if bad:
                raise ValueError(
                    f"PUBLIC_BASE_URL / {knob} make a callback URL Safaricom refuses (contains "
                    + ", ".join(repr(w) for w in bad)
                    + ")"
                )
        if self.mpesa_c2b_shortcode is not None and not self.mpesa_c2b_shortcode.isdigit():
            raise ValueError("MPESA_C2B_SHORTCODE must be the paybill's digits")
        if self.mpesa_c2b_initiator_name is not None and self.mpesa_c2b_security_credential is None:
            raise ValueError("MPESA_C2B_INITIATOR_NAME needs MPESA_C2B_SECURITY_CREDENTIAL (its password, encrypted)")
        if len(self.mpesa_transaction_desc) > 13 or not self.mpesa_transaction_desc:
            raise ValueError("MPESA_TRANSACTION_DESC must be 1 to 13 characters")
        return self

    @property
    def paybill(self) -> str | None:
        """The paybill customers pay to from their phones, or None when that is off."""
        return (self.mpesa_c2b_shortcode or self.mpesa_shortcode) if self.mpesa_c2b_token else None

    @property
    def paybill_initiator(self) -> tuple[str, str]:
        """(initiator name, security credential) for the Paybill's Transaction Status queries: the paybill's own
        operator when MPESA_C2B_INITIATOR_NAME is set, else the B2C initiator (a credential alone is not used)."""
        if self.mpesa_c2b_initiator_name and self.mpesa_c2b_security_credential:
            return self.mpesa_c2b_initiator_name, self.mpesa_c2b_security_credential
        return self.mpesa_b2c_initiator_name, self.mpesa_b2c_security_credential

    @property
    def mpesa_payee(self) -> str:
        """PartyB: the till for buy goods, else the paybill shortcode."""
        return self.mpesa_party_b or self.mpesa_shortcode

    def secrets_to_check(self) -> dict[str, str | None]:
        def unless_default(value: str | None, default: str) -> str | None:
            return None if value == default else value

        return {
            "DARAJA_CONSUMER_KEY": unless_default(self.daraja_consumer_key, DEV_CONSUMER_KEY),
            "DARAJA_CONSUMER_SECRET": unless_default(self.daraja_consumer_secret, DEV_CONSUMER_SECRET),
            "MPESA_PASSKEY": unless_default(self.mpesa_passkey, SANDBOX_PASSKEY),
            "MPESA_CALLBACK_TOKEN": self.mpesa_callback_token,
            "MPESA_B2C_SECURITY_CREDENTIAL": unless_default(self.mpesa_b2c_security_credential, DEV_B2C_CREDENTIAL),
            "PESAPAL_CONSUMER_KEY": unless_default(self.pesapal_consumer_key, DEV_PESAPAL_KEY),
            "PESAPAL_CONSUMER_SECRET": unless_default(self.pesapal_consumer_secret, DEV_PESAPAL_SECRET),
            "PESAPAL_IPN_TOKEN": unless_default(self.pesapal_ipn_token, DEV_PESAPAL_IPN_TOKEN),
        }
