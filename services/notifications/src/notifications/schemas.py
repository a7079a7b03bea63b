"""Request and response models of the notifications HTTP contract."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from jeshkit.schemas import UtcTimestamp

Channel = Literal["sms", "email"]
Status = Literal["queued", "sent", "delivered", "failed"]
Language = Literal["en", "sw"]
# Every template of notifications.texts (a test keeps the two the same): a message of any of them can be listed.
Template = Literal[
    "welcome", "booking_confirmed", "payment_failed", "hold_expiring", "booking_cancelled", "invoice_issued",
    "payment_reminder", "invoice_overdue", "payment_received", "access_suspended", "access_restored", "refund_paid",
    "payment_unmatched", "payment_wrong_amount", "transport_scheduled", "transport_completed", "password_reset",
    "password_changed", "account_invite", "account_closed", "account_reopened", "role_changed", "erasure_requested",
]
# Ids are PostgreSQL bigints; a larger number can only be an unknown id.
MAX_ID = 2**63 - 1

class NotificationOut(BaseModel):
    id: int
    user_id: int
    channel: Channel
    to: str
    template: Template
    language: Language
    body: str
    status: Status
    created_at: UtcTimestamp
    sent_at: UtcTimestamp | None


class PreferencesIn(BaseModel):
    """Any of the three; a field left out keeps its value. sms/email false stop reminders on that channel."""

    model_config = ConfigDict(extra="ignore")

    language: Language | None = None
    sms: StrictBool | None = None
    email: StrictBool | None = None


class PreferencesOut(BaseModel):
    user_id: int
    language: Language
    sms: bool
    email: bool


class SupportOut(BaseModel):
    phone: str = Field(description="The number customers call (SUPPORT_PHONE), as people write it")


class Acknowledged(BaseModel):
    received: bool = True
