"""Tables of the notifications database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jeshkit.db import new_metadata

CHANNELS = ("sms", "email")
STATUSES = ("queued", "sent", "delivered", "failed")
LANGUAGES = ("en", "sw")
SCHEDULE_KINDS = ("hold_expiring", "receipt_wait")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ('" + "', '".join(values) + "')"


class Base(DeclarativeBase):
    metadata = new_metadata()


class Recipient(Base):
    """A customer as this service knows them: contact details from auth's events, preferences of its own.
    `erased_at`: auth erased the customer's personal data (CustomerErased); the details are gone for good, no event
    or answer of auth's writes them again, and nothing is sent to them any more."""

    __tablename__ = "recipients"
    __table_args__ = (
        CheckConstraint(_one_of("language", LANGUAGES), name="language_known"),
        Index("ix_recipients_phone", "phone"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    language: Mapped[str] = mapped_column(String(2), nullable=False, server_default="en")
    sms_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    email_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The moment of auth's facts the details are (the event's occurred_at, or when auth was asked): an older event,
    # redelivered or applied out of order, changes nothing. NULL: no details yet (a row of the preferences alone).
    details_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class BookingFacts(Base):
    """What the messages about a booking need, gathered from booking's and payments' events (in any order)."""

    __tablename__ = "booking_facts"

    booking_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    unit_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    total_price: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    cancelled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    paid: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    amount_paid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    receipt: Mapped[str | None] = mapped_column(String(64), nullable=True)
    paid_with: Mapped[str | None] = mapped_column(String(16), nullable=True)  # the payment's method: mpesa, card
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ScheduledNotice(Base):
    """A message to decide on later: the hold reminder, or a confirmation still waiting for its receipt."""

    __tablename__ = "scheduled_notices"
    __table_args__ = (
        UniqueConstraint("kind", "booking_id", name="uq_scheduled_notices_kind_booking"),
        CheckConstraint(_one_of("kind", SCHEDULE_KINDS), name="kind_known"),
        Index("ix_scheduled_notices_due_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    booking_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # The event the notice comes from: the messages' key, so that one event makes one message per channel.
    source_key: Mapped[str] = mapped_column(String(80), nullable=False)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class HeldMessage(Base):
    """A message for a user whose contact details are not known yet (their UserRegistered never came): held here,
    the template and its values, until auth tells who they are (contacts.py), then queued as it would have been."""

    __tablename__ = "held_messages"
    __table_args__ = (
        UniqueConstraint("source_key", name="uq_held_messages_source_key"),
        Index("ix_held_messages_next_attempt_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    source_key: Mapped[str] = mapped_column(String(80), nullable=False)
    template: Mapped[str] = mapped_column(String(40), nullable=False)
    # The template's values, as JSON (dates, times and phrases tagged: notifications.held).
    params: Mapped[dict[str, object]] = mapped_column(JSONB, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # How many times auth said it has no such user (the message is dropped after NOTIFY_CONTACT_MAX_MISSES).
    misses: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Notification(Base):
    """One message to one address on one channel; also the sender's queue (status queued, due at next_attempt_at)."""

    __tablename__ = "notifications"
    __table_args__ = (
        # Exactly one message per event and channel, whatever the redeliveries or replicas.
        UniqueConstraint("source_key", "channel", name="uq_notifications_source_channel"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel_known"),
        CheckConstraint(_one_of("status", STATUSES), name="status_known"),
        CheckConstraint(_one_of("language", LANGUAGES), name="language_known"),
        Index("ix_notifications_user_id", "user_id", "id"),
        Index("ix_notifications_due", "next_attempt_at", postgresql_where=text("status = 'queued'")),
        Index("ix_notifications_provider_id", "provider_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(80), nullable=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    channel: Mapped[str] = mapped_column(String(5), nullable=False)
    to: Mapped[str] = mapped_column(String(320), nullable=False)
    template: Mapped[str] = mapped_column(String(40), nullable=False)
    language: Mapped[str] = mapped_column(String(2), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # A reminder's template values (as held_messages.params), kept while it may wait: a customer who changes their
    # language before it goes gets it rendered again in the new one. NULL for every other message (they go at once).
    params: Mapped[dict[str, object] | None] = mapped_column(JSONB, nullable=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # While a sender has it on its way (set just before the send, a lease; cleared with the attempt's outcome): what
    # changes a message still waiting (notifications.waiting) leaves it alone meanwhile. A claim alone does not set it.
    sending_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
