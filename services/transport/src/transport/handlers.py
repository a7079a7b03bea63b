"""Reactions of the transport service to other services' events (idempotent; run inside the consumer's transaction).

Transport does not consume BookingCreated: most bookings never ask for a truck, so the owner of a booking is asked of
the booking service when a request first names it (service._lock_known_booking). A confirmation or a cancellation is
recorded whether or not the booking was heard of, so an answer fetched later never undoes it."""

from sqlalchemy.orm import Session

from jeshkit.consumer import Handlers
from jeshkit.erasure import forget_personal_events
from jeshkit.events import BookingCancelled, BookingConfirmed, CustomerErased, Event
from transport import service


def on_booking_confirmed(session: Session, data: BookingConfirmed, event: Event) -> None:
    """A payment that came after the hold expired confirms the booking again: requests may be tied to it again."""
    service.confirm_booking(session=session, booking_id=data.booking_id, user_id=data.user_id)


def on_booking_cancelled(session: Session, data: BookingCancelled, event: Event) -> None:
    """Whatever the reason (user, admin, expired hold), the booking's open transport requests go with it."""
    service.cancel_booking(session=session, booking_id=data.booking_id, user_id=data.user_id, reason=data.reason)


def on_customer_erased(session: Session, data: CustomerErased, event: Event) -> None:
    """Auth erased the customer's personal data: their requests keep their facts, not where they lived or what
    they owned (Kenya's Data Protection Act, s.40)."""
    service.erase_customer(session=session, user_id=data.user_id)
    forget_personal_events(session, user_id=data.user_id)


HANDLERS: Handlers = {
    BookingConfirmed: on_booking_confirmed,
    BookingCancelled: on_booking_cancelled,
    CustomerErased: on_customer_erased,
}
