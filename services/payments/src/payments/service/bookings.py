"""Payments' own copy of the bookings it takes money for (fed by Booking* events, fetched once on a miss)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import and_, case, func, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from jeshkit.errors import NotFound, UpstreamUnavailable
from jeshkit.peers import fetch_json
from payments.models import BOOKING_STATUSES, Booking

log = logging.getLogger("payments.service")


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
    """Upsert the copy of a booking. Does not commit.

    A booking never goes back to `pending`; between `confirmed` and `cancelled` the later event wins (a booking
    paid after its hold expired is confirmed again), and without times `cancelled` wins.
    """
    if status not in BOOKING_STATUSES:
        raise ValueError(f"unknown booking status {status!r}")
    statement = insert(Booking).values(
        booking_id=booking_id,
        user_id=user_id,
        unit_id=unit_id,
        total_price=total_price,
        status=status,
        status_at=status_at,
        hold_expires_at=hold_expires_at,
    )
    new, old = statement.excluded, Booking
    newer = and_(new.status_at.is_not(None), or_(old.status_at.is_(None), new.status_at > old.status_at))
    untimed = and_(new.status_at.is_(None), old.status_at.is_(None), new.status == "cancelled")
    statement = statement.on_conflict_do_update(
        index_elements=[Booking.booking_id],
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
    session.execute(statement)


def booking_snapshot(data: dict[str, Any], *, status: str | None = None) -> dict[str, Any]:
    """The fields remember_booking takes, from the booking service's data."""
    return {
        "booking_id": int(data["booking_id"]),
        "status": status or str(data["status"]),
        "user_id": _int_or_none(data.get("user_id")),
        "unit_id": _int_or_none(data.get("unit_id")),
        "total_price": _int_or_none(data.get("total_price")),
        "hold_expires_at": _time_or_none(data.get("hold_expires_at")),
    }


def ensure_booking_copy(session: Session, *, http: httpx.Client, booking_url: str, booking_id: int) -> None:
    """Make sure the copy exists, fetching it from the booking service with no transaction open."""
    if session.get(Booking, booking_id) is not None:
        session.rollback()  # end the read's transaction: the caller starts its own
        return
    session.rollback()  # never hold a connection or a transaction across the HTTP call
    data = fetch_json(http, f"{booking_url.rstrip('/')}/internal/bookings/{booking_id}", peer="booking")
    if data is None:
        raise NotFound("Booking not found")
    try:
        snapshot = booking_snapshot(data)
    except (KeyError, TypeError, ValueError):
        log.error("the booking service answered an unusable booking %s: %r", booking_id, data)
        raise UpstreamUnavailable("The booking service is unavailable, please retry", 503) from None
    remember_booking(session, **snapshot, status_at=datetime.now(UTC))  # the state as of now
    session.commit()


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    return int(value)


def _time_or_none(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
