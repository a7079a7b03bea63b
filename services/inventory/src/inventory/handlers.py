"""Reactions of the inventory service to other services' events (idempotent; run inside the consumer's transaction).

Each booking event upserts the one `unit_bookings` row of its booking_id. A booking only moves forward,
held → confirmed → cancelled, so an event that would move it back (a late or redelivered one) changes
nothing: a BookingCancelled arriving before its BookingCreated leaves a `cancelled` tombstone that the
BookingCreated cannot revive. One exception, from the booking service's rules: only an unconfirmed
booking ever expires, and a payment that arrives after the expiry re-confirms the booking when its dates
are still free. So a confirmation and an expiry of one booking meet in one order only, whatever order
they are delivered in: the confirmation wins (it revives a row cancelled as `expired`, and an `expired`
cancellation never touches a confirmed row). The consumer's inbox already drops an exact redelivery; this ordering rule
covers the events that arrive out of order. The upsert locks the row, so replicas cannot interleave.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, func, literal, not_, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from inventory.models import UnitBooking
from inventory.service import UNITS_CHANGED
from jeshkit.consumer import Handlers, NotHeardOfYet
from jeshkit.events import BookingCancelled, BookingConfirmed, BookingCreated, BookingMovedOut, Event, UnitReleased

log = logging.getLogger("inventory.handlers")


def _rank(state: Any) -> Any:
    return case((state == "held", 1), (state == "confirmed", 2), else_=3)


def _moves_forward(row: Any, incoming: Any) -> Any:
    expiry = and_(incoming.state == "cancelled", incoming.cancel_reason.is_not_distinct_from("expired"))
    return or_(
        and_(_rank(row.state) < _rank(incoming.state), not_(and_(expiry, row.state == "confirmed"))),
        and_(row.state == "cancelled", row.cancel_reason.is_not_distinct_from("expired"),
             incoming.state == "confirmed"),
    )


def _upsert_statement() -> Any:
    """The booking row's upsert, built once: every event only binds its values (no statement to build, hash and
    look up per event; the hot path of the consumer)."""
    table = cast(Table, UnitBooking.__table__)
    columns = ("booking_id", "unit_id", "start_date", "end_date", "monthly_rate", "state", "hold_expires_at",
               "cancel_reason")
    inserting = insert(table).values(
        {**{name: bindparam(name, type_=table.c[name].type) for name in columns}, "updated_at": func.now()}
    )
    excluded, row = inserting.excluded, table.c
    return inserting.on_conflict_do_update(
        index_elements=[row.booking_id],
        set_={
            "unit_id": excluded.unit_id,
            "start_date": func.coalesce(excluded.start_date, row.start_date),
            # A booking's end only ever moves earlier (a move-out), and NULL is no end: LEAST ignores NULLs. So a
            # BookingConfirmed retried after the move-out it came before never puts the freed dates back.
            "end_date": func.least(excluded.end_date, row.end_date),
            "monthly_rate": func.coalesce(excluded.monthly_rate, row.monthly_rate),
            "state": excluded.state,
            "hold_expires_at": excluded.hold_expires_at,
            "cancel_reason": excluded.cancel_reason,
            "updated_at": func.now(),
        },
        where=_moves_forward(row, excluded),
    ).returning(row.booking_id, _NOTIFY_UNITS_CHANGED)


# Returned with the booking_id of a row the statement moved: the NOTIFY of UNITS_CHANGED (the cached unit lists are
# stale) in the same round trip. PostgreSQL sends it only if the transaction commits, and once per transaction
# however many events of a batch return it; nothing moved, nothing is returned and nobody is told.
_NOTIFY_UNITS_CHANGED = func.pg_notify(literal(UNITS_CHANGED), literal(""))


_UPSERT = _upsert_statement()

BookingEvent = BookingCreated | BookingConfirmed | BookingCancelled | UnitReleased


def record_booking(session: Session, data: BookingEvent, event: Event, *, state: str) -> None:
    """Move the booking's row forward to `state` (insert it if this is the first event seen for it)."""
    values = {
        "booking_id": data.booking_id,
        "unit_id": data.unit_id,
        "start_date": data.start_date,
        "end_date": data.end_date,  # NULL on an active row: an open-ended monthly rental
        "monthly_rate": data.monthly_rate if isinstance(data, BookingCreated | BookingConfirmed) else None,
        "state": state,
        "hold_expires_at": data.hold_expires_at if isinstance(data, BookingCreated) else None,
        "cancel_reason": data.reason if isinstance(data, BookingCancelled | UnitReleased) else None,
    }
    moved = session.execute(_UPSERT, values).first() is not None
    log.info(
        "booking %s of unit %s %s by %s",
        values["booking_id"], values["unit_id"], f"now {state}" if moved else "unchanged (already further)", event.type,
    )


def on_booking_created(session: Session, data: BookingCreated, event: Event) -> None:
    record_booking(session, data, event, state="held")


def on_booking_confirmed(session: Session, data: BookingConfirmed, event: Event) -> None:
    record_booking(session, data, event, state="confirmed")


def on_booking_ended(session: Session, data: BookingCancelled | UnitReleased, event: Event) -> None:
    record_booking(session, data, event, state="cancelled")


_END_RENTAL = (
    update(UnitBooking)
    .where(
        UnitBooking.booking_id == bindparam("moving_booking_id"),
        UnitBooking.state != "cancelled",
        or_(UnitBooking.end_date.is_(None), UnitBooking.end_date > bindparam("last_day")),
        UnitBooking.start_date < bindparam("last_day"),
    )
    .values(end_date=bindparam("last_day"), updated_at=func.now())
    .returning(UnitBooking.booking_id, _NOTIFY_UNITS_CHANGED)
)


def end_rental_on(session: Session, booking_id: int, last_day_exclusive: date) -> None:
    """A monthly rental moved out: it holds its unit until then only (an earlier end never moves back).

    A move-out of a booking never heard of (its BookingCreated and BookingConfirmed not applied yet: being retried)
    is tried again a while (NotHeardOfYet), then parked for an admin to replay: applied to nothing, it was lost,
    and the rental the late events then recorded held its unit for good."""
    moved = session.execute(_END_RENTAL, {"moving_booking_id": booking_id, "last_day": last_day_exclusive}).first()
    if moved is None and session.get(UnitBooking, booking_id) is None:
        raise NotHeardOfYet(f"move-out of booking {booking_id}, which inventory has not heard of")


def on_unit_released(session: Session, data: UnitReleased, event: Event) -> None:
    """UnitReleased: a cancellation frees the booking's dates; a move-out frees only those from its date on."""
    if data.reason == "moved_out":
        end_rental_on(session, data.booking_id, data.start_date)
        return
    on_booking_ended(session, data, event)


def on_booking_moved_out(session: Session, data: BookingMovedOut, event: Event) -> None:
    end_rental_on(session, data.booking_id, data.move_out_date)


HANDLERS: Handlers = {
    BookingCreated: on_booking_created,
    BookingConfirmed: on_booking_confirmed,
    BookingCancelled: on_booking_ended,
    UnitReleased: on_unit_released,
    BookingMovedOut: on_booking_moved_out,
}
