"""Tables of the inventory database."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, DateTime, Identity, Index, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jeshkit.db import new_metadata

# A booking's state as inventory knows it. `cancelled` is final: a late BookingCreated never revives it.
BOOKING_STATES = ("held", "confirmed", "cancelled")


class Base(DeclarativeBase):
    metadata = new_metadata()


class Unit(Base):
    """A storage unit of the catalogue. Its public `status` is derived, never stored (see service.status_expr)."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("monthly_price > 0", name="monthly_price_positive"),
        Index("uq_units_unit_number_ci", func.lower(text("unit_number")), unique=True),
        Index("ix_units_size_ci", func.lower(text("size"))),
        Index("ix_units_monthly_price", "monthly_price"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    unit_number: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[str] = mapped_column(Text, nullable=False)
    dimensions: Mapped[str] = mapped_column(Text, nullable=False)
    monthly_price: Mapped[int] = mapped_column(BigInteger, nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Set by an admin ("maintenance"); the only part of the status a person decides.
    in_maintenance: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class UnitBooking(Base):
    """Inventory's copy of one booking's dates, fed by the booking service's events (one row per booking_id).

    A `cancelled` row is a tombstone: it stays so that an event arriving late cannot make the range taken again.
    """

    __tablename__ = "unit_bookings"
    __table_args__ = (
        CheckConstraint("state IN ('held', 'confirmed', 'cancelled')", name="state_known"),
        CheckConstraint(
            "state = 'cancelled' OR (start_date IS NOT NULL AND (end_date IS NULL OR end_date > start_date))",
            name="active_range_valid",
        ),
        # Status and availability only ever look at the not-cancelled rows of one unit.
        Index(
            "ix_unit_bookings_active",
            "unit_id",
            "end_date",
            "start_date",
            postgresql_where=text("state <> 'cancelled'"),
        ),
    )

    booking_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    unit_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # NULL on an active row: an open-ended monthly rental, holding the unit from start_date on.
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # A monthly rental's rent (the economic occupancy counts it; other bookings count the unit's price).
    monthly_rate: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    state: Mapped[str] = mapped_column(Text, nullable=False)
    # Until then a `held` (pending, unpaid) booking keeps its dates; after it they count as free.
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Why a cancelled row was cancelled (`expired`, `user`, `admin`): a late payment re-confirms only an expiry.
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
