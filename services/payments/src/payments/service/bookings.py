"""Payments' own copy of the bookings it takes money for (fed by Booking* events, fetched once on a miss)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, and_, bindparam, case, func, or_, text
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.orm import Session

from jeshkit.errors import UpstreamUnavailable
from jeshkit.internal import InternalBooking
from jeshkit.peers import Peer, fetch_on_miss
from payments.models import BOOKING_STATUSES, Booking
from payments.service.settle import SET_LOCK_TIMEOUT

log = logging.getLogger("payments.service")


_BOOKINGS = cast(Table, Booking.__table__)
_COLUMNS = ("booking_id", "user_id", "unit_id", "total_price", "status", "status_at", "hold_expires_at")


def _upsert_booking() -> Insert:
    """The upsert of a booking's copy, in Core SQL with a bound parameter for every value: built once, as it runs
    for every Booking* event.

    Events about one booking come in any order: a booking never goes back to `pending`; between `confirmed` and
    `cancelled` the later event wins (a booking paid after its hold expired is confirmed again), and without times
    `cancelled` wins.
    """
    statement = insert(_BOOKINGS).values({key: bindparam(key) for key in _COLUMNS})
    new, old = statement.excluded, _BOOKINGS.c
    newer = and_(new.status_at.is_not(None), or_(old.status_at.is_(None), new.status_at > old.status_at))
    untimed = and_(new.status_at.is_(None), old.status_at.is_(None), new.status == "cancelled")
    return statement.on_conflict_do_update(
        index_elements=[old.booking_id],
        set_={
            "user_id": func.coalesce(new.user_id, old.user_id),
            "unit_id": func.coalesce(new.unit_id, old.unit_id),
            "total_price": func.coalesce(new.total_price, old.total_price),
            "hold_expires_at": func.coalesce(new.hold_expires_at, old.hold_expires_at),
            "status": case(
                (new.status == "pending", old.status),
                (old.status == "pending", new.status),
                (or_(newer, untimed), new.status),
                else_=old.status,
            ),
            "status_at": func.greatest(new.status_at, old.status_at),
            "updated_at": func.now(),
        },
    )


_UPSERT_BOOKING = _upsert_booking()


def remember_booking(
    session: Session,
    *,
    booking_id: int,
    status: str,
    status_at: datetime | None = None,
    user_id: int | None = None,
    unit_id: int | None = None,
    total_price: int | None = None,
    hold_expires_at: datetime | None = None,
) -> None:
    """Upsert the copy of a booking (which status wins: _upsert_booking). Does not commit."""
    if status not in BOOKING_STATUSES:
        raise ValueError(f"unknown booking status {status!r}")
    session.execute(
        _UPSERT_BOOKING,
        {
            "booking_id": booking_id,
            "user_id": user_id,
            "unit_id": unit_id,
            "total_price": total_price,
            "status": status,
            "status_at": status_at,
            "hold_expires_at": hold_expires_at,
        },
    )


@dataclass(frozen=True)
class BookingCopy:
    """What a payment needs of payments' copy of a booking."""

    user_id: int | None
    total_price: int | None
    status: str
    hold_expires_at: datetime | None


_LOCK_BOOKING = text(
    "SELECT user_id, total_price, status, hold_expires_at FROM bookings WHERE booking_id = :booking_id FOR UPDATE"
)


def locked_booking(session: Session, *, booking_service: Peer, booking_id: int) -> BookingCopy | None:
    """The copy of a booking, row-locked; fetched from the booking service first when payments has not heard of
    it (with no transaction open across the call)."""

    def load() -> BookingCopy | None:
        session.execute(SET_LOCK_TIMEOUT)
        row = session.execute(_LOCK_BOOKING, {"booking_id": booking_id}).first()
        return BookingCopy(row.user_id, row.total_price, row.status, row.hold_expires_at) if row else None

    def save(fetched: InternalBooking) -> None:
        if fetched.booking_id != booking_id or fetched.status not in BOOKING_STATUSES:
            raise UpstreamUnavailable("The booking service is unavailable, please retry", 503)
        remember_booking(
            session, booking_id=booking_id, status=fetched.status, status_at=datetime.now(UTC),  # as of now
            user_id=fetched.user_id, unit_id=fetched.unit_id, total_price=fetched.total_price,
            hold_expires_at=fetched.hold_expires_at,
        )

    return fetch_on_miss(
        session,
        load=load,
        fetch=lambda: booking_service.get_as(f"/internal/bookings/{booking_id}", InternalBooking),
        save=save,
    )
