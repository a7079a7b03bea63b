"""create_app(): the one place that wires the payments service."""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI

from jeshkit.app import create_service_app
from jeshkit.messaging import PeriodicJob
from payments import service
from payments.api import router
from payments.daraja import DarajaClient
from payments.handlers import HANDLERS
from payments.providers import MpesaProvider, PaymentProviders
from payments.settings import Settings
from payments.token_store import DatabaseTokenStore

log = logging.getLogger("payments.app")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # Unset: a random token for this process (hex, so it never spells a word Safaricom refuses).
    callback_token = settings.mpesa_callback_token or secrets.token_hex(24)
    providers = PaymentProviders()

    def on_startup(app: FastAPI) -> None:
        daraja = DarajaClient(
            app.state.http,
            base_url=settings.daraja_base_url,
            consumer_key=settings.daraja_consumer_key,
            consumer_secret=settings.daraja_consumer_secret,
            shortcode=settings.mpesa_shortcode,
            passkey=settings.mpesa_passkey,
            timeout=settings.daraja_timeout_seconds,
            refresh_margin=settings.daraja_token_refresh_margin_seconds,
            token_store=DatabaseTokenStore(app.state.session_factory),
        )
        providers.register(MpesaProvider(daraja, settings, callback_token=callback_token))
        app.state.providers = providers
        if settings.mpesa_callback_token is None:
            log.info("MPESA_CALLBACK_TOKEN unset: using a random callback token; /api/payments/mpesa/callback is open")

    def reconcile(session_factory: object) -> int:
        return service.reconcile_pending_payments(
            session_factory=session_factory,  # type: ignore[arg-type]
            providers=providers,
            settle_after_seconds=settings.payment_reconcile_after_seconds,
            retry_after_seconds=settings.reconcile_interval_seconds,
            batch_size=settings.reconcile_batch_size,
        )

    return create_service_app(
        settings,
        title="Jesh Storage — payments",
        description="M-PESA STK Push through Daraja",
        routers=[router],
        handlers=HANDLERS,
        jobs=[PeriodicJob("reconcile-payments", settings.reconcile_interval_seconds, reconcile)],
        on_startup=on_startup,
    )
