"""State changes shared by the booking use cases and the event handlers: each works on a locked row and stages its
events in the caller's transaction (never commits)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import TypedDict, cast

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from booking.models import Booking, Refund
from jeshkit.events import BookingCancelled, BookingConfirmed, RefundRequired, UnitReleased, stage
from jeshkit.events.booking import Plan

log = logging.getLogger("booking.service")


def cancel_row(*, session: Session, booking: Booking, reason: str, now: datetime) -> None:
    """Cancel a locked booking, release its dates, stage BookingCancelled + UnitReleased."""
    booking.status = "cancelled"
    booking.cancel_reason = reason
    booking.cancelled_at = now
    booking.updated_at = now
    stage(
        session,
        BookingCancelled(
            booking_id=booking.id,
            user_id=booking.user_id,
            unit_id=booking.unit_id,
            start_date=booking.start_date,
            end_date=booking.end_date,
            reason=reason,  # type: ignore[arg-type]
        ),
    )
    stage(
        session,
        UnitReleased(
            booking_id=booking.id,
            unit_id=booking.unit_id,
            start_date=booking.start_date,
            end_date=booking.end_date,
            reason=reason,
        ),
    )


class BookingFields(TypedDict):
    """What BookingCreated and BookingConfirmed both tell about a booking."""

    booking_id: int
    user_id: int
    unit_id: int
    start_date: date
    end_date: date | None
    total_price: int
    plan: Plan
    monthly_rate: int | None


def booking_fields(booking: Booking) -> BookingFields:
    return {
        "booking_id": booking.id,
        "user_id": booking.user_id,
        "unit_id": booking.unit_id,
        "start_date": booking.start_date,
        "end_date": booking.end_date,
        "total_price": booking.total_price,
        "plan": cast(Plan, booking.plan),  # the column's check constraint allows only these
        "monthly_rate": booking.monthly_rate,
    }


def stage_confirmed(*, session: Session, booking: Booking) -> None:
    """Stage BookingConfirmed for a booking that just became confirmed."""
    stage(session, BookingConfirmed(**booking_fields(booking)))


def require_refund(
    *, session: Session, booking: Booking, amount: int, payment_id: int, receipt: str | None, reason: str
) -> bool:
    """Record money that must go back to the payer and stage RefundRequired (once per payment)."""
    if session.scalar(select(exists().where(Refund.payment_id == payment_id))):
        return False
    booking.refunds.append(
        Refund(payment_id=payment_id, amount=amount, receipt=receipt, reason=reason, status="required")
    )
    stage(
        session,
        RefundRequired(
            booking_id=booking.id,
            user_id=booking.user_id,
            unit_id=booking.unit_id,
            amount=amount,
            payment_id=payment_id,
            receipt=receipt,
            reason=reason,
        ),
    )
    log.warning("refund required for booking %s (payment %s, %s KES): %s", booking.id, payment_id, amount, reason)
    return True


def lock_booking(*, session: Session, booking_id: int) -> Booking | None:
    """The booking, its row locked until the transaction ends."""
    return session.scalars(select(Booking).where(Booking.id == booking_id).with_for_update()).first()
