"""Tables of the booking database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from jeshkit.db import new_metadata

BOOKING_STATUSES = ("pending", "confirmed", "cancelled")
PAYMENT_STATUSES = ("pending", "success", "failed")
CANCEL_REASONS = ("user", "admin", "expired")
# Statuses whose dates are taken: the exclusion constraint only looks at these rows.
ACTIVE_STATUSES = ("pending", "confirmed")


class Base(DeclarativeBase):
    metadata = new_metadata()


class Unit(Base):
    """Booking's own copy of what it needs about a unit, fed by UnitCreated/UnitUpdated (or fetched once)."""

    __tablename__ = "units"
    __table_args__ = (CheckConstraint("monthly_price >= 0", name="monthly_price_not_negative"),)

    unit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    unit_number: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[str | None] = mapped_column(Text, nullable=True)
    monthly_price: Mapped[int] = mapped_column(BigInteger, nullable=False)
    bookable: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # When the state copied here was true at the source (event occurred_at, or the time of a fetch):
    # an older snapshot arriving late never overwrites a newer one.
    source_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Booking(Base):
    """A booking of one unit for [start_date, end_date) (end_date NULL: an open-ended monthly rental)."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_date > start_date", name="dates_ordered"),
        CheckConstraint("plan IN ('fixed', 'monthly')", name="plan_known"),
        # A fixed booking has an end; a monthly rental has its rate (its end is only known at move-out).
        CheckConstraint(
            "(plan = 'fixed' AND end_date IS NOT NULL) OR (plan = 'monthly' AND monthly_rate IS NOT NULL)",
            name="plan_fields",
        ),
        CheckConstraint("total_price >= 0", name="total_price_not_negative"),
        CheckConstraint("status IN ('pending', 'confirmed', 'cancelled')", name="status_known"),
        CheckConstraint("payment_status IN ('pending', 'success', 'failed')", name="payment_status_known"),
        CheckConstraint("cancel_reason IS NULL OR cancel_reason IN ('user', 'admin', 'expired')", name="reason_known"),
        CheckConstraint("(status = 'cancelled') = (cancel_reason IS NOT NULL)", name="cancelled_has_reason"),
        # The invariant itself: two active bookings of one unit never overlap, whatever the concurrency.
        ExcludeConstraint(
            ("unit_id", "="),
            # An open-ended monthly rental (end_date NULL) holds [start_date, infinity).
            (text("daterange(start_date, end_date, '[)')"), "&&"),
            name="ex_bookings_unit_dates_overlap",
            using="gist",
            where=text("status IN ('pending', 'confirmed')"),
        ),
        Index("ix_bookings_user_id", "user_id"),
        Index("ix_bookings_unit_id", "unit_id"),
        Index("ix_bookings_pending_holds", "hold_expires_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    unit_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("units.unit_id"), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # `fixed`: a date range paid up front; `monthly`: a rental billed every month by the billing service.
    plan: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'fixed'"), default="fixed")
    # The unit's monthly_price when a monthly rental was booked, kept for the whole rental.
    monthly_rate: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    total_price: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    payment_status: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    # Until then a pending booking keeps its dates; unpaid after it, it is cancelled with reason `expired`.
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The payment that confirmed the booking (from PaymentSucceeded), kept for refunds.
    payment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    payment_receipt: Mapped[str | None] = mapped_column(Text, nullable=True)
    amount_paid: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    # Loaded when read (only an admin's view and a new refund read them); lists for admins load them all in one
    # query (service.list_bookings). Every other load of a booking, the consumers' included, skips the query.
    refunds: Mapped[list[Refund]] = relationship(back_populates="booking", lazy="select", order_by="Refund.id")


class Refund(Base):
    """Money that arrived for a booking and must go back (admin-visible; never silently dropped): `required` until
    payments says it went back (RefundPaid of that payment), then `paid` with the amount paid."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("status IN ('required', 'paid')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    booking_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bookings.id"), nullable=False, index=True)
    # One refund per payment at most (NULL only if a payment event came without an id).
    payment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    receipt: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'required'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    booking: Mapped[Booking] = relationship(back_populates="refunds")
