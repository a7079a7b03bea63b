"""Telling inventory at once what a booking did to its unit's dates.

Inventory learns of bookings from the events (BookingCreated, BookingCancelled, BookingMovedOut), a moment after the
commit: until then GET /api/units showed a unit just booked as `available`, and one just cancelled or moved out of as
still taken, though the contract frees the dates "at once". So, right after its commit (no transaction open), a
request that booked, cancelled or moved out also sends inventory the same events (POST
/internal/units/{unit_id}/booking-events), which it applies with the handlers its consumer runs: they only move a
booking forward, so whichever of the two copies comes second changes nothing. When inventory cannot be told, the
answer is not held up: the stream still brings the events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from booking.changes import booking_fields
from booking.models import Booking
from jeshkit.events import BookingCancelled, BookingCreated, BookingMovedOut, EventData
from jeshkit.peers import Peer


def booked(inventory: Peer, booking: Booking) -> None:
    """A new booking holds its dates."""
    assert booking.hold_expires_at is not None  # a new booking is pending
    created = BookingCreated(**booking_fields(booking), hold_expires_at=booking.hold_expires_at)
    _tell(inventory, booking.unit_id, created)


def cancelled(inventory: Peer, booking: Booking) -> None:
    """A cancelled booking's dates are free."""
    _tell(inventory, booking.unit_id, BookingCancelled(
        booking_id=booking.id, user_id=booking.user_id, unit_id=booking.unit_id, start_date=booking.start_date,
        end_date=booking.end_date, reason=booking.cancel_reason,  # type: ignore[arg-type]  # cancelled: it has one
    ))


def moved_out(inventory: Peer, booking: Booking) -> None:
    """A monthly rental holds its unit until its (new) end_date only."""
    assert booking.end_date is not None  # a move-out sets it
    _tell(inventory, booking.unit_id, BookingMovedOut(
        booking_id=booking.id, user_id=booking.user_id, unit_id=booking.unit_id, move_out_date=booking.end_date,
    ))


def _tell(inventory: Peer, unit_id: int, event: EventData) -> None:
    envelope = {"id": str(uuid.uuid4()), "type": event.event_type, "version": event.version,
                "occurred_at": datetime.now(UTC).isoformat(), "source": "booking", "data": event.to_data()}
    inventory.tell(f"/internal/units/{unit_id}/booking-events", [envelope])
