"""create_app(): the one place that wires the notifications service."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from jeshkit.app import create_service_app
from jeshkit.jobs import PeriodicJob
from jeshkit.peers import Peer, make_http_client
from notifications import contacts, delivery
from notifications.api import router
from notifications.channels import AfricasTalkingSms, Channel, SmtpEmail, SmtpServer
from notifications.handlers import make_handlers
from notifications.metrics import read_retrying
from notifications.quiet import QuietHours
from notifications.service import Policy
from notifications.settings import Settings
from notifications.texts import Texts


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    policy = Policy(
        texts=Texts(support_phone=settings.support_phone, paybill=settings.paybill_number),
        quiet_hours=QuietHours.parse(settings.notify_quiet_hours),
        hold_reminder=timedelta(seconds=settings.notify_hold_reminder_seconds),
        receipt_wait=timedelta(seconds=settings.notify_receipt_wait_seconds),
        portal_url=settings.portal_base_url,
    )
    # The providers' client: its own timeout (the peers' client is for our own services).
    sms_client = make_http_client(timeout=settings.at_timeout_seconds)
    channels: dict[str, Channel] = {
        "sms": AfricasTalkingSms(sms_client, base_url=settings.at_base_url, username=settings.at_username,
                                 api_key=settings.at_api_key, sender_id=settings.at_sender_id),
        "email": SmtpEmail(SmtpServer.from_url(settings.smtp_url), sender=settings.smtp_from,
                           timeout=settings.smtp_timeout_seconds, ca_file=settings.smtp_ca_file),
    }
    retry = delivery.Retry(
        max_attempts=settings.notify_max_attempts,
        base_seconds=settings.notify_retry_base_seconds,
        max_seconds=settings.notify_retry_max_seconds,
        lease_seconds=settings.notify_claim_lease_seconds,
    )

    def send_held(session_factory: sessionmaker[Session]) -> int:
        # The process's client for our own services (app.state.http) exists once the app has started.
        auth = Peer("auth", settings.auth_base_url, app.state.http)
        return contacts.send_held(session_factory, policy=policy, auth=auth, retry=retry,
                                  max_misses=settings.notify_contact_max_misses,
                                  batch_size=settings.notify_send_batch_size)

    jobs = [
        PeriodicJob("notification-schedule", settings.notify_send_interval_seconds,
                    partial(delivery.run_schedule, policy=policy)),
        PeriodicJob("notification-sender", settings.notify_send_interval_seconds,
                    partial(delivery.send_due, channels=channels, retry=retry,
                            batch_size=settings.notify_send_batch_size, quiet_hours=policy.quiet_hours)),
        PeriodicJob("held-messages", settings.notify_send_interval_seconds, send_held),
    ]
    app = create_service_app(
        settings,
        title="Jesh Storage — notifications",
        description="SMS (Africa's Talking) and email (SMTP) to customers, in English and Swahili, driven by events",
        routers=[router],
        handlers=make_handlers(policy),
        jobs=jobs,
        scrape_readers=[read_retrying],
    )
    # Development without AT_CALLBACK_TOKEN: a random one, so the hook is never open (production requires it).
    app.state.at_callback_token = settings.at_callback_token or secrets.token_urlsafe(24)
    app.state.texts = policy.texts  # the listing's words for a hidden link
    return app
