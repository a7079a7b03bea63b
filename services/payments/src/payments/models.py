"""Tables of the payments database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jeshkit.db import new_metadata

BOOKING_STATUSES = ("pending", "confirmed", "cancelled")
PAYMENT_STATUSES = ("pending", "success", "failed")
PAYMENT_METHODS = ("mpesa", "paypal", "card")


class Base(DeclarativeBase):
    metadata = new_metadata()


class Booking(Base):
    """Payments' own copy of what it needs about a booking (fed by Booking* events, or fetched once).

    A BookingCancelled that overtook its BookingCreated leaves a row with only the status known.
    """

    __tablename__ = "bookings"
    __table_args__ = (CheckConstraint("status IN ('pending', 'confirmed', 'cancelled')", name="status_known"),)

    booking_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    unit_id: Mapped[int | None] = mapped_column(BigInteger)
    total_price: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Payment(Base):
    """One attempt to collect a booking's total_price (for M-PESA: one STK Push)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'success', 'failed')", name="status_known"),
        CheckConstraint("method IN ('mpesa', 'paypal', 'card')", name="method_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("method <> 'mpesa' OR checkout_request_id IS NOT NULL", name="mpesa_has_checkout_id"),
        # At most one push in flight per booking, whatever the concurrency.
        Index(
            "uq_payments_one_pending_per_booking",
            "booking_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_payments_booking_id_created_at", "booking_id", "created_at"),
        Index("ix_payments_pending_next_check_at", "next_check_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    booking_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bookings.booking_id"), nullable=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    phone_number: Mapped[str | None] = mapped_column(Text)
    account_reference: Mapped[str | None] = mapped_column(Text)
    merchant_request_id: Mapped[str | None] = mapped_column(Text)
    checkout_request_id: Mapped[str | None] = mapped_column(Text, unique=True)
    # The secret path segment of the CallBackURL this push was given; its callbacks must carry it.
    callback_token: Mapped[str | None] = mapped_column(Text)
    result_code: Mapped[int | None] = mapped_column(Integer)
    result_desc: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str | None] = mapped_column(Text, unique=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Anything that did not add up (a callback contradicting Daraja's query, a wrong amount...), for a human.
    discrepancy: Mapped[str | None] = mapped_column(Text)
    callbacks_received: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    check_attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


class DarajaToken(Base):
    """The one Daraja OAuth token all replicas share (see payments.token_store); a single row, id 1."""

    __tablename__ = "daraja_token"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    access_token: Mapped[str | None] = mapped_column(Text)
    good_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
