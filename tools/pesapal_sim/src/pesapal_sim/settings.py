"""Simulator settings, read once from PESAPAL_SIM_* environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class SimSettings(BaseSettings):
    """Knobs of the simulator (env: PESAPAL_SIM_<FIELD>)."""

    model_config = SettingsConfigDict(env_prefix="PESAPAL_SIM_", env_file=None, extra="ignore", case_sensitive=False)

    # Credentials RequestToken accepts. With accept_any_credentials (the dev default) any non-empty pair works.
    consumer_key: str = "jesh-dev-pesapal-key"
    consumer_secret: str = "jesh-dev-pesapal-secret"
    accept_any_credentials: bool = True
    # Pesapal's tokens live 5 minutes.
    token_ttl_seconds: int = 300
    # Seconds between the payment page's answer (or a refund's approval) and the IPN.
    ipn_delay_seconds: float = 0.2
    # Seconds between an accepted RefundRequest and the payment showing as REVERSED (Pesapal's finance team).
    refund_delay_seconds: float = 0.5
    ipn_timeout_seconds: float = 10.0
