"""Reactions of the payments service to other services' events (idempotent; run inside the consumer's transaction)."""

from sqlalchemy.orm import Session

from jeshkit.consumer import Handler
from jeshkit.outbox import Event
from payments.service import booking_snapshot, remember_booking


def on_booking_created(session: Session, event: Event) -> None:
    """Remember a new booking: who owns it and what it costs."""
    remember_booking(session, **booking_snapshot(event.data, status="pending"))


def on_booking_confirmed(session: Session, event: Event) -> None:
    """A confirmed booking takes no more payments."""
    remember_booking(session, **booking_snapshot(event.data, status="confirmed"))


def on_booking_cancelled(session: Session, event: Event) -> None:
    """A cancelled booking takes no more payments (pushes already in flight are still settled)."""
    remember_booking(session, **booking_snapshot(event.data, status="cancelled"))


HANDLERS: dict[str, Handler] = {
    "BookingCreated": on_booking_created,
    "BookingConfirmed": on_booking_confirmed,
    "BookingCancelled": on_booking_cancelled,
}
