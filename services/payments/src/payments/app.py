"""create_app(): the one place that wires the payments service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from jeshkit.app import create_service_app
from jeshkit.erasure import holds_router
from jeshkit.jobs import PeriodicJob
from payments import service
from payments.api import invoices_router, router
from payments.api_card import card_router
from payments.api_cash import cash_router
from payments.api_paybill import paybill_router, peers_of
from payments.daraja import DarajaClient
from payments.handlers import handlers
from payments.metrics import read_waiting_money
from payments.mpesa import MpesaProvider
from payments.pesapal import IpnRegistry, PesapalClient, PesapalProvider
from payments.providers import PaymentProviders
from payments.service import card, paybill, paybill_pull, payout_status
from payments.settings import Settings
from payments.token_store import DatabaseTokenStore

log = logging.getLogger("payments.app")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    providers = PaymentProviders()
    peers: list[paybill.Peers] = []  # booking and billing, once the HTTP client exists

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
        providers.register(MpesaProvider(daraja, settings))
        pesapal = PesapalClient(
            app.state.http,
            base_url=settings.pesapal_base_url,
            consumer_key=settings.pesapal_consumer_key,
            consumer_secret=settings.pesapal_consumer_secret,
            timeout=settings.pesapal_timeout_seconds,
            refresh_margin=settings.pesapal_token_refresh_margin_seconds,
            token_store=DatabaseTokenStore(app.state.session_factory, table="pesapal_token", provider="Pesapal"),
        )
        ipns = IpnRegistry(pesapal, app.state.session_factory, settings)
        providers.register(PesapalProvider(pesapal, ipns, settings))
        app.state.providers = providers
        peers.append(peers_of(app.state))
        if settings.mpesa_callback_token is None:
            log.info("MPESA_CALLBACK_TOKEN unset: /api/payments/mpesa/callback is processed too")

    def settle_money(session_factory: sessionmaker[Session]) -> int:
        """Every payment and refund towards a final state: Paybill money, queued pushes, reconciliation, unsure
        payouts, card refunds and orders. Each sweep on its own: one that fails (a row it cannot handle, at every
        pass) is logged and the others still run."""
        if not service.money_in_flight(session_factory):
            return 0
        batch = settings.reconcile_batch_size
        sweeps: list[tuple[str, Callable[[], int]]] = [
            ("paybill", lambda: paybill.settle_paybill(
                session_factory=session_factory, providers=providers, peers=peers[0],
                wait_seconds=settings.paybill_status_wait_seconds, batch_size=batch)),
            ("queued pushes", lambda: service.send_queued_pushes(
                session_factory=session_factory, providers=providers, batch_size=batch)),
            ("reconciliation", lambda: service.reconcile_pending_payments(
                session_factory=session_factory, providers=providers,
                settle_after_seconds=settings.payment_reconcile_after_seconds,
                retry_after_seconds=settings.reconcile_interval_seconds, batch_size=batch,
                max_attempts=settings.payment_reconcile_max_attempts)),
            ("unsure payouts", lambda: service.retry_unsure_payouts(
                session_factory=session_factory, providers=providers, batch_size=batch)),
            ("lost payouts", lambda: payout_status.confirm_lost_payouts(
                session_factory=session_factory, providers=providers,
                wait_seconds=settings.refund_result_wait_seconds, batch_size=batch)),
            ("card refunds", lambda: card.settle_card_refunds(
                session_factory=session_factory, providers=providers, batch_size=batch)),
            ("abandoned card orders", lambda: card.fail_abandoned_card_orders(
                session_factory=session_factory, providers=providers,
                older_than_seconds=settings.pesapal_order_timeout_seconds, batch_size=batch)),
        ]
        done = 0
        for name, sweep in sweeps:
            try:
                done += sweep()
            except Exception:  # the other sweeps still run; this one is tried again next time
                log.exception("money job: the %s sweep failed", name)
        return done

    def pull_paybill(session_factory: sessionmaker[Session]) -> int:
        """Paybill payments whose confirmation never came, found by Pull Transactions (once registered)."""
        assert settings.paybill is not None
        return paybill_pull.pull(session_factory=session_factory, providers=providers, paybill=settings.paybill,
                                 interval=timedelta(seconds=settings.paybill_pull_interval_seconds))

    jobs = [PeriodicJob("settle-money", settings.reconcile_interval_seconds, settle_money),
            PeriodicJob("finish-erasures", 60.0, service.finish_erasures)]
    if settings.paybill is not None and settings.paybill_pull_interval_seconds > 0:  # one lease check a minute idle
        jobs.append(PeriodicJob("pull-paybill", min(60.0, settings.paybill_pull_interval_seconds), pull_paybill))

    return create_service_app(
        settings,
        title="Jesh Storage — payments",
        description="M-PESA STK Push (Daraja) and card / Airtel Money (Pesapal API 3.0): bookings and invoices, "
        "refunds by B2C or Pesapal",
        routers=[router, invoices_router, card_router, paybill_router, cash_router,
                 holds_router(service.customer_holds)],
        handlers=handlers(settings),
        jobs=jobs,
        on_startup=on_startup,
        scrape_readers=[read_waiting_money],
    )
