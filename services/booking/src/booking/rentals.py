"""Monthly rentals' own use case: the move-out notice (creation shares create_booking with fixed bookings)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from booking.changes import lock_booking
from booking.models import Booking
from booking.service import MAX_BOOKING_YEARS, today_in_nairobi, years_after
from jeshkit import audit
from jeshkit.audit import ActorRef
from jeshkit.errors import BadRequest, Conflict, Forbidden, NotFound
from jeshkit.events import BookingMovedOut, UnitReleased, stage


def move_out(
    *, session: Session, booking_id: int, actor_id: int, actor_is_admin: bool, move_out_date: date
) -> Booking:
    """End a confirmed monthly rental on `move_out_date`: the later dates are free at once, billing stops."""
    booking = lock_booking(session=session, booking_id=booking_id)
    if booking is None:
        raise NotFound("Booking not found")
    if not actor_is_admin and booking.user_id != actor_id:
        raise Forbidden("Unauthorized")
    if booking.plan != "monthly" or booking.status != "confirmed":
        raise Conflict("Only a confirmed monthly rental can be moved out")
    errors = []
    if move_out_date < today_in_nairobi():
        errors.append({"field": "move_out_date", "message": "move_out_date must be today or later"})
    if move_out_date <= booking.start_date:
        errors.append({"field": "move_out_date", "message": "move_out_date must be after start_date"})
    elif booking.end_date is not None and move_out_date > booking.end_date:
        errors.append({"field": "move_out_date", "message": "move_out_date must not be after the current end_date"})
    elif move_out_date > years_after(today_in_nairobi(), MAX_BOOKING_YEARS):  # as far ahead as a booking may end
        errors.append({"field": "move_out_date", "message": "move_out_date must be within 5 years"})
    if errors:
        raise BadRequest("Invalid request", errors)
    if booking.end_date == move_out_date:
        session.commit()
        return booking  # already ends that day
    freed_until = booking.end_date
    booking.end_date = move_out_date
    booking.updated_at = datetime.now(UTC)
    stage(
        session,
        BookingMovedOut(
            booking_id=booking.id, user_id=booking.user_id, unit_id=booking.unit_id, move_out_date=move_out_date
        ),
    )
    # The freed dates: [move_out_date, the old end) (to infinity for an open-ended rental).
    stage(
        session,
        UnitReleased(
            booking_id=booking.id,
            unit_id=booking.unit_id,
            start_date=move_out_date,
            end_date=freed_until,
            reason="moved_out",
        ),
    )
    if actor_is_admin:
        audit.record(session, ActorRef(actor_id), "booking.moved_out", f"booking:{booking_id}",
                     {"move_out_date": move_out_date.isoformat(), "previous_end_date": freed_until})
    session.commit()
    return booking
