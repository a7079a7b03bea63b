"""Simulator settings, read once from DARAJA_SIM_* environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

SANDBOX_SHORTCODE = "174379"
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


class SimSettings(BaseSettings):
    """Knobs of the simulator (env: DARAJA_SIM_<FIELD>)."""

    model_config = SettingsConfigDict(env_prefix="DARAJA_SIM_", env_file=None, extra="ignore", case_sensitive=False)

    # Seconds between an accepted STK Push and its callback (the payer "typing the PIN").
    callback_delay_seconds: float = 1.0
    # Phones ending in 1037 (unreachable) get their callback after this longer delay.
    slow_callback_delay_seconds: float = 5.0
    # Timeout of the simulator's own POST to CallBackURL.
    callback_timeout_seconds: float = 10.0

    # Credentials the OAuth endpoint accepts. With accept_any_credentials (the dev default) any
    # non-empty key/secret pair gets a token, like a freshly created Daraja sandbox app.
    consumer_key: str = "jesh-dev-consumer-key"
    consumer_secret: str = "jesh-dev-consumer-secret"
    accept_any_credentials: bool = True
    token_ttl_seconds: int = 3599

    # The one Lipa na M-PESA Online shortcode this "Daraja" knows, with its passkey (sandbox values).
    shortcode: str = SANDBOX_SHORTCODE
    passkey: str = SANDBOX_PASSKEY
    # A Timestamp further than this from Nairobi's clock is refused (catches a UTC-for-Nairobi
    # mistake); 0 disables the check. Real Daraja is laxer: this is a deliberate dev-time guard.
    timestamp_tolerance_seconds: int = 3600

    # C2B: ask the registered ValidationURL before completing a payment (external validation, which Safaricom
    # enables per shortcode on request); off: every payment completes and only the confirmation is POSTed.
    c2b_validation: bool = True
    # M-PESA waits about this long for the ValidationURL before applying the registered ResponseType.
    c2b_validation_timeout_seconds: float = 8.0

    # Pull Transactions: at most this many rows per query answer (OffSetValue pages through the rest).
    pull_page_size: int = 100
