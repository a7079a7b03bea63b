"""Tables of the billing database."""

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
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from jeshkit.db import new_metadata

STAGES = ("current", "late", "locked_out", "lien")
INVOICE_STATUSES = ("open", "paid", "void")
LINE_KINDS = ("rent", "late_fee", "adjustment")


class Base(DeclarativeBase):
    metadata = new_metadata()


class Rental(Base):
    """A confirmed monthly rental (from BookingConfirmed) and where its billing stands."""

    __tablename__ = "rentals"
    __table_args__ = (
        CheckConstraint("monthly_rate >= 0", name="monthly_rate_not_negative"),
        CheckConstraint("status IN ('active', 'ended')", name="status_known"),
        CheckConstraint("delinquency_stage IN ('current', 'late', 'locked_out', 'lien')", name="stage_known"),
        CheckConstraint("access IN ('active', 'suspended')", name="access_known"),
        CheckConstraint("credit >= 0", name="credit_not_negative"),
        CheckConstraint("billing_day BETWEEN 1 AND 31", name="billing_day_valid"),
        # A gate code opens one unit, and is never given to another rental: whoever held it once (an ended rental's
        # tenant, who saw it in the portal) can never open someone else's unit with it.
        Index("uq_rentals_gate_code", "gate_code", unique=True),
        Index("ix_rentals_user_id", "user_id"),
    )

    booking_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    unit_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    monthly_rate: Mapped[int] = mapped_column(BigInteger, nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    # The move-out date (exclusive) or NULL while open-ended: no period starting on or after it is billed.
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The day of the month periods start on (start_date's day; clamped to the month's last day).
    billing_day: Mapped[int] = mapped_column(Integer, nullable=False)
    # The first period not invoiced yet.
    next_period_start: Mapped[date] = mapped_column(Date, nullable=False)
    # The last day this rental's billing has run for (the daily job and the test clock move it forward).
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'active'"))
    delinquency_stage: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'current'"))
    access: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'active'"))
    # Money paid beyond every open invoice, taken off the next invoices.
    credit: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    autopay_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    autopay_phone: Mapped[str | None] = mapped_column(Text, nullable=True)
    gate_code: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    invoices: Mapped[list[Invoice]] = relationship(back_populates="rental", order_by="Invoice.period_start")


class Invoice(Base):
    """One period's bill. `total` is the sum of its lines; it is settled by allocations of payments."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'paid', 'void')", name="status_known"),
        CheckConstraint("total >= 0 AND amount_paid >= 0", name="amounts_not_negative"),
        CheckConstraint("amount_paid <= total", name="not_overpaid"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        # One invoice per rental period, whatever the replicas and retries.
        UniqueConstraint("booking_id", "period_start", name="uq_invoices_booking_id_period_start"),
        Index("ix_invoices_open", "booking_id", "due_date", postgresql_where=text("status = 'open'")),
        Index("ix_invoices_user_id", "user_id"),
    )
    # The INSERT returns the server's defaults (the number among them): no SELECT after it.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # INV-000123: readable, unique, from its own sequence; six digits at least, never cut (INV-1000000 follows).
    number: Mapped[str] = mapped_column(
        Text,
        nullable=False,
        unique=True,
        server_default=text("'INV-' || to_char(nextval('invoice_numbers'), 'FM999999999999000000')"),
    )
    booking_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("rentals.booking_id"), nullable=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)  # the period's last day (inclusive)
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    total: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_paid: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'open'"))
    late_fee_charged: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    rental: Mapped[Rental] = relationship(back_populates="invoices")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id", lazy="selectin", cascade="all, delete-orphan"
    )
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="invoice", order_by="Allocation.payment_id", lazy="selectin"
    )

    @property
    def balance(self) -> int:
        return self.total - self.amount_paid if self.status == "open" else 0


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (CheckConstraint("kind IN ('rent', 'late_fee', 'adjustment')", name="kind_known"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    invoice_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("invoices.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Payment(Base):
    """Every PaymentSucceeded billing heard of (revenue counts them all; rentals' ones settle invoices)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_payments_booking_id", "booking_id"),
        Index("ix_payments_paid_on", "paid_on"),
    )

    payment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    booking_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    invoice_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False)
    receipt: Mapped[str | None] = mapped_column(Text, nullable=True)
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    paid_on: Mapped[date] = mapped_column(Date, nullable=False)  # the Nairobi day, for the revenue report
    # True once applied to a rental's invoices (or recorded as its first invoice).
    applied: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))

    # Read for an invoice's answer only (invoicing.WITH_REFUNDS loads them there); the handlers never need them.
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="payment", order_by="Allocation.invoice_id", viewonly=True
    )
    refunds: Mapped[list[Refund]] = relationship(
        primaryjoin="Payment.payment_id == foreign(Refund.payment_id)", viewonly=True
    )


class Allocation(Base):
    """The part of a payment that went to one invoice."""

    __tablename__ = "allocations"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    payment_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("payments.payment_id"), primary_key=True)
    invoice_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("invoices.id"), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)

    invoice: Mapped[Invoice] = relationship(back_populates="allocations")
    payment: Mapped[Payment] = relationship(lazy="joined", back_populates="allocations")

    @property
    def refunded(self) -> int:
        """How much of this part of the payment went back to the payer. A refund of a payment takes its credit (the
        part no invoice got) first, then its parts from the latest invoice back: the rent of a period that will not
        be used is what a cancellation gives back."""
        left = sum(refund.amount for refund in self.payment.refunds)
        if left <= 0:
            return 0
        parts = self.payment.allocations
        left -= max(self.payment.amount - sum(part.amount for part in parts), 0)
        for part in reversed(parts):  # by invoice, latest first
            taken = min(max(left, 0), part.amount)
            if part.invoice_id == self.invoice_id:
                return taken
            left -= taken
        return 0


class Refund(Base):
    """A refund paid back to a customer (RefundPaid): the revenue report counts it, the invoices its payment paid
    show it."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    refund_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    booking_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    invoice_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The payment it gives back (no foreign key: RefundPaid may be applied before its PaymentSucceeded); null for
    # refunds recorded before events carried it.
    payment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False)
    receipt: Mapped[str | None] = mapped_column(Text, nullable=True)
    paid_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)


class BilledDay(Base):
    """(rental, day) billed: the daily job and the test clock never bill one day of one rental twice."""

    __tablename__ = "billed_days"

    booking_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("rentals.booking_id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    billed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Tenant(Base):
    """Billing's copy of a user's name and phone (UserRegistered / UserUpdated), for reports and autopay.
    `erased_at`: auth erased the customer's personal data (CustomerErased); the name is a placeholder from then on
    and no later event writes the details again."""

    __tablename__ = "tenants"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    email: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone: Mapped[str | None] = mapped_column(Text, nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When auth stated the facts kept (the event's occurred_at): an older event, applied late, never overwrites them.
    facts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CancelledBooking(Base):
    """A booking cancelled by its owner or an admin while billing had no rental of it: its BookingConfirmed, applied
    after (out of order), opens none. Booking never confirms such a booking again (only an expired hold comes back,
    and an expiry is not kept here)."""

    __tablename__ = "cancelled_bookings"

    booking_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    cancelled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class EarlyMoveOut(Base):
    """A move-out notice applied while billing had no rental of its booking (its BookingConfirmed applied after, out
    of order): the rental the confirmation opens ends on that date."""

    __tablename__ = "early_move_outs"

    booking_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    move_out_date: Mapped[date] = mapped_column(Date, nullable=False)


class UnitCopy(Base):
    """Billing's copy of a unit's number (UnitCreated / UnitUpdated), for reports."""

    __tablename__ = "units"

    unit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    unit_number: Mapped[str] = mapped_column(Text, nullable=False)
