"""Tables of the transport database."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jeshkit.db import new_metadata

STATUSES = ("requested", "scheduled", "in_progress", "completed", "cancelled")


class Base(DeclarativeBase):
    metadata = new_metadata()


class TransportRequest(Base):
    """A pickup-and-delivery request; `estimated_cost` is computed by the server at creation."""

    __tablename__ = "transport_requests"
    __table_args__ = (
        CheckConstraint("distance > 0 AND distance <= 500", name="distance_range"),
        CheckConstraint("estimated_cost >= 0", name="estimated_cost_non_negative"),
        CheckConstraint("status IN ('" + "', '".join(STATUSES) + "')", name="status_known"),
        CheckConstraint("char_length(btrim(pickup_address)) > 0", name="pickup_not_blank"),
        CheckConstraint("char_length(btrim(delivery_address)) > 0", name="delivery_not_blank"),
        CheckConstraint("char_length(btrim(items_description)) > 0", name="items_not_blank"),
        Index("ix_transport_requests_user_id", "user_id"),
        Index("ix_transport_requests_booking_id", "booking_id"),
        Index("ix_transport_requests_preferred_time", "preferred_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # No foreign key: bookings live in the booking service's database.
    booking_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    pickup_address: Mapped[str] = mapped_column(String(255), nullable=False)
    delivery_address: Mapped[str] = mapped_column(String(255), nullable=False)
    distance: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    estimated_cost: Mapped[int] = mapped_column(Integer, nullable=False)
    preferred_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    items_description: Mapped[str] = mapped_column(String(1000), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="requested")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class KnownBooking(Base):
    """What transport needs to know of a booking, asked of the booking service when a request
    first names it, and kept from BookingConfirmed/BookingCancelled."""

    __tablename__ = "known_bookings"

    booking_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    cancel_reason: Mapped[str | None] = mapped_column(Text)  # BookingCancelled's reason (`expired`, `user`…)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
