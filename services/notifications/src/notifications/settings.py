"""Notifications settings: the shared base plus this service's own knobs."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from jeshkit.settings import ServiceSettings
from notifications.links import LOCAL_GATEWAY
from notifications.texts import DEV_SUPPORT_PHONE

DEV_AT_USERNAME = "sandbox"
DEV_AT_API_KEY = "jesh-dev-at-api-key"
DEV_SMTP_URL = "smtp://127.0.0.1:8025"
# A phone number as people write it: digits, spaces, a leading +; short enough for every SMS to stay one message.
_SUPPORT_PHONE = re.compile(r"^\+?[0-9][0-9 ]{5,14}$")
# An M-PESA Paybill business number (shortcode): Safaricom's are 5 to 7 digits (the sandbox's is 174379).
_PAYBILL_NUMBER = re.compile(r"[0-9]{5,7}")
_QUIET_HOURS = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


class Settings(ServiceSettings):
    service_name: str = "notifications"

    # Africa's Talking SMS: the local simulator in development.
    at_base_url: str = "http://127.0.0.1:8020"
    at_username: str = DEV_AT_USERNAME
    at_api_key: str = DEV_AT_API_KEY
    # The registered sender id or shortcode ("from"); unset: the account's default.
    at_sender_id: str | None = None
    # Secret path segment of the delivery-report URL ({PUBLIC_BASE_URL}/api/notifications/hooks/sms/<token>),
    # configured in Africa's Talking's dashboard. Unset (development only): a random one per process.
    at_callback_token: str | None = None
    at_timeout_seconds: float = Field(default=10.0, gt=0)

    # The gateway's public base URL, and the portal's when it has an origin of its own (PORTAL_URL): the portal's
    # pages in the emails (the password reset link is {PORTAL_URL}/reset-password#token=<token>).
    public_base_url: str = LOCAL_GATEWAY
    portal_url: str | None = None

    @property
    def portal_base_url(self) -> str:
        """Where the customers' portal is: PORTAL_URL, else the gateway's PUBLIC_BASE_URL (which serves it too)."""
        return self.portal_url or self.public_base_url

    # Email: smtp://user:password@host:587 (STARTTLS when the server offers it) or smtps://... (TLS from the start).
    smtp_url: str = DEV_SMTP_URL
    smtp_from: str = "Jesh Storage <no-reply@jesh.local>"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # CA bundle that signs the mail server's certificate, if not a public CA (a private relay); unset: the system's.
    smtp_ca_file: str | None = None

    # The number customers call, given in the messages ({support}: the emails' sign-off, a suspended unit's SMS,
    # a password reset nobody asked for) and on the portal (GET /api/notifications/support). Required in production.
    support_phone: str = DEV_SUPPORT_PHONE
    # The M-PESA Paybill customers pay to from their phone's menu, with the invoice's number as the account: the
    # messages that ask for money say so ("Pay by M-PESA Paybill 174379, account INV-000123."). Empty: not mentioned.
    paybill_number: str = ""

    # No reminders in these Nairobi hours ("HH:MM-HH:MM", may wrap midnight); empty: none.
    notify_quiet_hours: str = "21:00-08:00"
    # The "hold about to expire" reminder goes this long before the hold ends (at once if the hold is shorter).
    notify_hold_reminder_seconds: float = Field(default=300.0, ge=0)
    # A confirmed booking whose payment receipt has not arrived this long after is announced without it.
    notify_receipt_wait_seconds: float = Field(default=30.0, ge=0)
    # The sender: how often it looks for due messages, how many it claims at once, and its retries.
    notify_send_interval_seconds: float = Field(default=1.0, gt=0)
    notify_send_batch_size: int = Field(default=20, ge=1)
    notify_max_attempts: int = Field(default=10, ge=1)
    notify_retry_base_seconds: float = Field(default=5.0, gt=0)
    notify_retry_max_seconds: float = Field(default=600.0, gt=0)
    # A claimed message not reported back within this long (the process died mid-send) is claimed again.
    notify_claim_lease_seconds: float = Field(default=120.0, gt=0)

    # A held message for a user auth says it does not know is dropped after this many such answers (spaced by
    # the retry backoff above); auth away is retried for as long as it takes.
    notify_contact_max_misses: int = Field(default=5, ge=1)

    @field_validator("at_sender_id", "at_callback_token", "smtp_ca_file", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("support_phone")
    @classmethod
    def _support_phone_format(cls, value: str) -> str:
        value = " ".join(value.split())
        if not _SUPPORT_PHONE.match(value):
            raise ValueError("SUPPORT_PHONE must be a phone number of digits and spaces, e.g. 0711 000 000 or "
                             "+254 711 000 000 (at most 16 characters)")
        return value

    @model_validator(mode="after")
    def _real_support_phone_in_production(self) -> Settings:
        if self.environment == "production" and self.support_phone == DEV_SUPPORT_PHONE:
            raise ValueError(f"SUPPORT_PHONE is required in production ({DEV_SUPPORT_PHONE} is development's "
                             "placeholder): the number customers call, given in the messages and on the portal")
        return self

    @field_validator("paybill_number")
    @classmethod
    def _paybill_number_format(cls, value: str) -> str:
        value = value.strip()
        if value and not _PAYBILL_NUMBER.fullmatch(value):
            raise ValueError("PAYBILL_NUMBER must be the M-PESA Paybill business number, 5 to 7 digits (e.g. 174379), "
                             "or empty for messages that do not mention a Paybill")
        return value

    @field_validator("notify_quiet_hours")
    @classmethod
    def _quiet_hours_format(cls, value: str) -> str:
        value = value.strip()
        if value and not _QUIET_HOURS.match(value):
            raise ValueError("NOTIFY_QUIET_HOURS must look like 21:00-08:00 (Nairobi time) or be empty")
        return value

    def secrets_to_check(self) -> dict[str, str | None]:
        def unless_default(value: str | None, default: str) -> str | None:
            return None if value == default else value

        return {
            "AT_USERNAME": unless_default(self.at_username, DEV_AT_USERNAME),
            "AT_API_KEY": unless_default(self.at_api_key, DEV_AT_API_KEY),
            "AT_CALLBACK_TOKEN": self.at_callback_token,
            "SMTP_URL": unless_default(self.smtp_url, DEV_SMTP_URL),
        }
