"""Booking use cases: each owns its transaction and stages its events in it (outbox)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import cast

from sqlalchemy import Row, Table, bindparam, exists, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from booking.changes import booking_fields, cancel_row, lock_booking, require_refund
from booking.models import Booking, Refund, Unit
from jeshkit import audit
from jeshkit.audit import ActorRef
from jeshkit.clock import nairobi_today
from jeshkit.errors import BadRequest, Conflict, Forbidden, NotFound, UpstreamUnavailable
from jeshkit.events import BookingCreated, stage
from jeshkit.events.inventory import UnitFacts
from jeshkit.internal import Hold, InternalUser
from jeshkit.peers import Peer, fetch_on_miss
from jeshkit.security import Principal

log = logging.getLogger("booking.service")

MAX_BOOKING_YEARS = 5
EXCLUSION_VIOLATION = "23P01"  # SQLSTATE of an exclusion constraint refusing a row



# --- rules ------------------------------------------------------------------------------------------
def today_in_nairobi() -> date:
    """Today's date where the customers are."""
    return nairobi_today()


def years_after(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def check_booking_dates(*, start_date: date, end_date: date | None, today: date, plan: str = "fixed") -> None:
    """Refuse a range that starts in the past or more than five years ahead, is empty or reversed, or is longer than
    five years.

    Only a monthly rental may leave `end_date` out (open-ended)."""
    errors = []
    if start_date < today:
        errors.append({"field": "start_date", "message": "start_date must be today or later"})
    elif start_date > years_after(today, MAX_BOOKING_YEARS):  # 9999-12-01 was taken, and billing cannot count past it
        errors.append({"field": "start_date", "message": "start_date must be within 5 years"})
    if end_date is None:
        if plan != "monthly":
            errors.append({"field": "end_date", "message": "Field required"})
    elif end_date <= start_date:
        errors.append({"field": "end_date", "message": "end_date must be after start_date"})
    elif start_date.year + MAX_BOOKING_YEARS <= date.max.year and end_date > years_after(
        start_date, MAX_BOOKING_YEARS
    ):
        errors.append({"field": "end_date", "message": "A booking may last at most 5 years"})
    if errors:
        raise BadRequest("Invalid request", errors)


def total_price(*, monthly_price: int, start_date: date, end_date: date) -> int:
    """ceil(monthly_price * days / 30) in whole shillings, without floating point."""
    days = (end_date - start_date).days
    return -(-monthly_price * days // 30)


def is_overlap_refusal(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "pgcode", None) == EXCLUSION_VIOLATION


# --- the unit copy ----------------------------------------------------------------------------------
def save_unit_snapshot(*, session: Session, snapshot: UnitFacts, source_time: datetime) -> None:
    """Upsert the copy of one unit unless what is stored is newer (no commit: the caller owns it)."""
    stmt = pg_insert(Unit).values(
        unit_id=snapshot.unit_id,
        unit_number=snapshot.unit_number,
        size=snapshot.size,
        monthly_price=snapshot.monthly_price,
        bookable=snapshot.bookable,
        source_time=source_time,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Unit.unit_id],
        set_={
            "unit_number": stmt.excluded.unit_number,
            "size": stmt.excluded.size,
            "monthly_price": stmt.excluded.monthly_price,
            "bookable": stmt.excluded.bookable,
            "source_time": stmt.excluded.source_time,
        },
        where=Unit.source_time <= stmt.excluded.source_time,
    )
    session.execute(stmt)


# The hot path (POST /api/bookings) in Core SQL: one statement each, compiled once, no unit of work (on the
# tables, not the mapped classes: an ORM-enabled select pays for the ORM's result processing).
_UNITS = cast(Table, Unit.__table__)
_UNIT_TERMS = select(_UNITS.c.monthly_price, _UNITS.c.bookable).where(_UNITS.c.unit_id == bindparam("unit_id"))
_BOOKINGS = cast(Table, Booking.__table__)
_INSERT_BOOKING = insert(_BOOKINGS).returning(_BOOKINGS.c.id)
def get_unit_terms(*, session: Session, unit_id: int, inventory: Peer) -> Row[int, bool]:
    """The unit's (monthly_price, bookable) from the local copy, filled from inventory's GET /internal/units/{id}
    when unheard of."""
    asked_at = datetime.now(UTC)  # an event about a later change of the unit still wins over this answer

    def save(snapshot: UnitFacts) -> None:
        if snapshot.unit_id != unit_id:
            raise UpstreamUnavailable("The inventory service is unavailable, please retry", 503)
        save_unit_snapshot(session=session, snapshot=snapshot, source_time=asked_at)

    terms = fetch_on_miss(
        session,
        load=lambda: session.execute(_UNIT_TERMS, {"unit_id": unit_id}).first(),
        fetch=lambda: inventory.get_as(f"/internal/units/{unit_id}", UnitFacts),
        save=save,
    )
    if terms is None:
        raise NotFound("Unit not found")
    return terms


def _release_stale_holds(
    *, session: Session, unit_id: int, start_date: date, end_date: date | None, now: datetime
) -> bool:
    """Cancel (as expired) the unpaid holds of this unit overlapping the range whose time is up; any?"""
    overlapping = [or_(Booking.end_date.is_(None), Booking.end_date > start_date)]
    if end_date is not None:
        overlapping.append(Booking.start_date < end_date)
    stale = session.scalars(
        select(Booking)
        .where(
            Booking.unit_id == unit_id,
            Booking.status == "pending",
            Booking.hold_expires_at < now,
            *overlapping,
        )
        .order_by(Booking.id)
        .with_for_update()
    ).all()
    for booking in stale:
        cancel_row(session=session, booking=booking, reason="expired", now=now)
    if stale:
        session.flush()
    return bool(stale)


# --- use cases ---------------------------------------------------------------------------------------
def create_booking(
    *,
    session: Session,
    user_id: int,
    unit_id: int,
    start_date: date,
    end_date: date | None,
    inventory: Peer,
    hold_seconds: int,
    plan: str = "fixed",
    booked_by: Principal | None = None,
) -> Booking:
    """Book a unit for [start_date, end_date): priced here, held until paid, never overlapping another.

    A `monthly` rental keeps the unit's monthly_price as its rate and charges the first month now; without
    an end_date it holds the unit from start_date on. `booked_by`: an operator booking for the customer `user_id`
    (at the desk), audited with the booking."""
    check_booking_dates(start_date=start_date, end_date=end_date, today=today_in_nairobi(), plan=plan)
    monthly_price, bookable = get_unit_terms(session=session, unit_id=unit_id, inventory=inventory)
    if not bookable:
        raise BadRequest("Unit not available")
    now = datetime.now(UTC)
    hold_expires_at = now + timedelta(seconds=hold_seconds)
    monthly_rate = monthly_price if plan == "monthly" else None
    if monthly_rate is not None:
        price = monthly_rate
    else:
        assert end_date is not None  # checked above
        price = total_price(monthly_price=monthly_price, start_date=start_date, end_date=end_date)
    values = {
        "user_id": user_id,
        "unit_id": unit_id,
        "start_date": start_date,
        "end_date": end_date,
        "plan": plan,
        "monthly_rate": monthly_rate,
        "total_price": price,
        "status": "pending",
        "payment_status": "pending",
        "created_at": now,
        "updated_at": now,
        "hold_expires_at": hold_expires_at,
    }

    def insert() -> Booking:
        booking_id = session.execute(_INSERT_BOOKING, values).scalar_one()
        return Booking(id=booking_id, **values)  # the answer's object; never added to the session

    try:
        booking = insert()
    except IntegrityError as exc:
        session.rollback()
        if not is_overlap_refusal(exc):
            raise
        # In the way may be an expired hold the sweeper has not reached yet: it must not block a new
        # customer. Release such holds and try once more, in one transaction (the common path never pays
        # for this look-up).
        if not _release_stale_holds(session=session, unit_id=unit_id, start_date=start_date, end_date=end_date,
                                    now=now):
            raise BadRequest("Unit not available") from None
        try:
            booking = insert()
        except IntegrityError as again:
            session.rollback()
            if is_overlap_refusal(again):
                raise BadRequest("Unit not available") from None
            raise
    stage(session, BookingCreated(**booking_fields(booking), hold_expires_at=hold_expires_at))
    if booked_by is not None:
        audit.record(session, booked_by, "booking.created_for_customer", f"booking:{booking.id}", {
            "user_id": user_id, "unit_id": unit_id, "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat() if end_date else None, "plan": plan, "total_price": price})
    session.commit()
    return booking


def check_customer(*, auth: Peer, user_id: int) -> None:
    """An operator books for an open account auth knows (asked with no transaction open): 404 for none, 409 for an
    account an operator closed (its owner can no longer sign in to see or pay for it)."""
    customer = auth.get_as(f"/internal/users/{user_id}", InternalUser)
    if customer is None:
        raise NotFound("Customer not found")
    if customer.closed:
        raise Conflict("Customer account is closed")


def get_booking(*, session: Session, booking_id: int) -> Booking:
    """One booking by id."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Booking not found")
    return booking


def list_bookings(
    *,
    session: Session,
    user_id: int | None = None,
    status: str | None = None,
    unit_id: int | None = None,
    booking_id: int | None = None,
    refund_status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    with_refunds: bool = False,
) -> Sequence[Booking]:
    """Bookings matching every given filter, newest first (with_refunds: each one's refunds loaded too, in one
    more query for the whole page)."""
    query = select(Booking).options(selectinload(Booking.refunds)) if with_refunds else select(Booking)
    if user_id is not None:
        query = query.where(Booking.user_id == user_id)
    if status is not None:
        query = query.where(Booking.status == status)
    if unit_id is not None:
        query = query.where(Booking.unit_id == unit_id)
    if booking_id is not None:
        query = query.where(Booking.id == booking_id)
    if refund_status is not None:
        query = query.where(exists().where(Refund.booking_id == Booking.id, Refund.status == refund_status))
    query = query.order_by(Booking.created_at.desc(), Booking.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def cancel_booking(*, session: Session, booking_id: int, actor_id: int, actor_is_admin: bool) -> Booking:
    """Cancel a booking (owner: while pending, or once paid until the day before it starts; admin: any time) and
    free its dates at once. A paid booking's refund is raised by payments from BookingCancelled."""
    booking = lock_booking(session=session, booking_id=booking_id)
    if booking is None:
        raise NotFound("Booking not found")
    if not actor_is_admin and booking.user_id != actor_id:
        raise Forbidden("Unauthorized")
    now, previous_status = datetime.now(UTC), booking.status
    if booking.status == "pending" and booking.hold_expires_at is not None and booking.hold_expires_at < now:
        # Its hold ran out: it is cancelled already (the job's next round would say so); say so now, as a read does.
        cancel_row(session=session, booking=booking, reason="expired", now=now)
        session.commit()
    if booking.status == "cancelled":
        raise Conflict("Booking is already cancelled")
    if booking.status == "confirmed" and not actor_is_admin and nairobi_today(now) >= booking.start_date:
        raise Conflict("A booking that has started can no longer be cancelled; ask us to end it")
    cancel_row(session=session, booking=booking, reason="admin" if actor_is_admin else "user", now=now)
    if actor_is_admin:
        audit.record(session, ActorRef(actor_id), "booking.cancelled", f"booking:{booking_id}",
                     {"previous_status": previous_status, "payment_status": booking.payment_status})
    if booking.payment_status == "success" and booking.payment_id is not None:
        require_refund(
            session=session,
            booking=booking,
            amount=booking.amount_paid if booking.amount_paid is not None else booking.total_price,
            payment_id=booking.payment_id,
            receipt=booking.payment_receipt,
            reason="cancelled_after_payment",
        )
    session.commit()
    return booking


def live_bookings(*, session: Session, user_id: int) -> list[Hold]:
    """What the user still has here (GET /internal/users/{id}/holds, asked before auth erases the account): each
    pending booking whose hold has not run out, each confirmed booking or rental not ended by today (Nairobi)."""
    today, now = today_in_nairobi(), datetime.now(UTC)
    rows = session.execute(
        select(Booking, Unit.unit_number)
        .join(Unit, Unit.unit_id == Booking.unit_id)
        .where(
            Booking.user_id == user_id,
            or_(
                (Booking.status == "pending") & or_(Booking.hold_expires_at.is_(None), Booking.hold_expires_at > now),
                (Booking.status == "confirmed") & or_(Booking.end_date.is_(None), Booking.end_date > today),
            ),
        )
        .order_by(Booking.id)
    ).all()
    return [Hold(kind="booking", id=booking.id, detail=_live(booking, unit_number)) for booking, unit_number in rows]


def _live(booking: Booking, unit_number: str) -> str:
    what = f"{'monthly rental' if booking.plan == 'monthly' else 'booking'} {booking.id} (unit {unit_number})"
    if booking.status == "pending":
        return f"{what} is awaiting payment"
    if booking.end_date is None:
        return f"{what} is live"
    return f"{what} is confirmed until {booking.end_date.isoformat()}"


def expire_holds(*, session: Session, batch_size: int, user_id: int | None = None) -> int:
    """Cancel (reason `expired`) up to batch_size unpaid bookings whose hold is over (of user_id only, when given),
    releasing their dates, and commit; how many. Rows another transaction holds are skipped (replicas share the work,
    and a payment being applied to one decides it)."""
    now = datetime.now(UTC)
    query = select(Booking).where(Booking.status == "pending", Booking.hold_expires_at < now)
    if user_id is not None:
        query = query.where(Booking.user_id == user_id)
    expired = session.scalars(
        query.order_by(Booking.hold_expires_at).limit(batch_size).with_for_update(skip_locked=True)
    ).all()
    for booking in expired:
        cancel_row(session=session, booking=booking, reason="expired", now=now)
    session.commit()
    return len(expired)


def release_expired_holds(*, session_factory: sessionmaker[Session], batch_size: int) -> int:
    """The job: cancel every unpaid booking whose hold has expired (reason `expired`) and release its dates."""
    released = 0
    while True:
        with session_factory() as session:
            expired = expire_holds(session=session, batch_size=batch_size)
        released += expired
        if expired < batch_size:
            break
    if released:
        log.info("released %d expired holds", released)
    return released
