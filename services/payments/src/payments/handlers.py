"""Reactions of the payments service to other services' events (idempotent; run inside the consumer's transaction)."""

from sqlalchemy.orm import Session

from jeshkit.consumer import Handlers
from jeshkit.events import BookingCancelled, BookingConfirmed, BookingCreated, Event
from payments.service import remember_booking


def on_booking_created(session: Session, data: BookingCreated, event: Event) -> None:
    """Remember a new booking: who owns it and what it costs."""
    remember_booking(
        session,
        booking_id=data.booking_id,
        status="pending",
        user_id=data.user_id,
        unit_id=data.unit_id,
        total_price=data.total_price,
        hold_expires_at=data.hold_expires_at,
    )


def on_booking_confirmed(session: Session, data: BookingConfirmed, event: Event) -> None:
    """A confirmed booking takes no more payments."""
    remember_booking(
        session,
        booking_id=data.booking_id,
        status="confirmed",
        user_id=data.user_id,
        unit_id=data.unit_id,
        total_price=data.total_price,
    )


def on_booking_cancelled(session: Session, data: BookingCancelled, event: Event) -> None:
    """A cancelled booking takes no more payments (pushes already in flight are still settled)."""
    remember_booking(
        session, booking_id=data.booking_id, status="cancelled", user_id=data.user_id, unit_id=data.unit_id
    )


HANDLERS: Handlers = {
    BookingCreated: on_booking_created,
    BookingConfirmed: on_booking_confirmed,
    BookingCancelled: on_booking_cancelled,
}
