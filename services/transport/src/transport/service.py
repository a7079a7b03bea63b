"""Use cases of the transport service: each owns its transaction and stages its events."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_UP, Context, Decimal, localcontext
from typing import cast

from sqlalchemy import Table, Text, and_, bindparam, case, func, not_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from jeshkit import audit
from jeshkit.clock import NAIROBI
from jeshkit.errors import BadRequest, Conflict, Forbidden, NotFound, UpstreamUnavailable
from jeshkit.events import TransportStatusChanged, stage
from jeshkit.internal import Hold, InternalBooking
from jeshkit.peers import Peer, fetch_on_miss
from jeshkit.security import Principal
from transport.models import KnownBooking, TransportRequest
from transport.schemas import TransportRequestCreate

log = logging.getLogger("transport.service")

# The moves an admin may make; anything else is a 409. "cancelled" is possible until "completed".
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    "requested": frozenset({"scheduled", "cancelled"}),
    "scheduled": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
# A request not completed nor cancelled: what a cancelled booking takes down with it (the contract's "its open
# transport requests are cancelled too", one whose truck is on the road included, logged for the team), and what
# the customer still has here before an erasure.
OPEN_STATUSES = ("requested", "scheduled", "in_progress")


@dataclass(frozen=True)
class Tariff:
    base_fee: int
    per_km: int

    def estimate(self, distance_km: Decimal) -> int:
        """The server's price, integer KES: base fee + ceil(distance * per-km rate), in exact decimals."""
        # Exact whatever the digits sent: the default context keeps 28 significant digits and flushes exponents below
        # -999999 to 0, so 1.00000000000000000000000000001 km came to 100 KES a km, not 101, and 1e-9999999999 km to 0.
        with localcontext(Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)):
            return self.base_fee + math.ceil(distance_km * self.per_km)


@dataclass(frozen=True)
class ListFilters:
    statuses: tuple[str, ...] = ()  # any of them; none: every status
    on_date: date | None = None
    date_from: date | None = None
    date_to: date | None = None
    user_id: int | None = None
    booking_id: int | None = None


@dataclass(frozen=True)
class Page:
    limit: int | None = None
    offset: int = 0
    order: str = "asc"  # by preferred_time then id ("asc", "desc"), or "recent": the last changed first


def create_request(
    *,
    session: Session,
    user: Principal,
    payload: TransportRequestCreate,
    tariff: Tariff,
    booking_service: Peer,
) -> TransportRequest:
    """Create a transport request for the caller, priced by the server, optionally tied to their booking."""
    if payload.booking_id is not None:
        booking = _lock_known_booking(session, payload.booking_id, booking_service)
        if booking is None or booking.user_id != user.id:
            raise BadRequest("Invalid booking", [{"field": "booking_id", "message": "must be one of your bookings"}])
        if booking.cancelled:
            raise BadRequest("Invalid booking", [{"field": "booking_id", "message": "that booking is cancelled"}])
    # Priced on the distance as sent (the contract's formula); kept to 10 m, rounded up (a tiny positive distance
    # never becomes 0). At the default 100 KES a km both give the same price; at 150, 1.001 km costs 1151, not 1152.
    distance = payload.distance.quantize(Decimal("0.01"), rounding=ROUND_UP)
    request = TransportRequest(
        user_id=user.id,
        booking_id=payload.booking_id,
        pickup_address=payload.pickup_address,
        delivery_address=payload.delivery_address,
        distance=distance,
        estimated_cost=tariff.estimate(payload.distance),
        preferred_time=payload.preferred_time,
        items_description=payload.items_description,
        status="requested",
    )
    session.add(request)
    session.flush()
    _stage_status_changed(session, request, previous_status=None)
    session.commit()
    return request


def list_for_user(*, session: Session, user: Principal, user_id: int) -> list[TransportRequest]:
    """The requests of one user, newest first; only that user or an admin may see them."""
    if user.id != user_id and not user.is_admin:
        raise Forbidden("Unauthorized")
    rows = session.scalars(
        select(TransportRequest)
        .where(TransportRequest.user_id == user_id)
        .order_by(TransportRequest.created_at.desc(), TransportRequest.id.desc())
    ).all()
    return list(rows)


def list_requests(
    *, session: Session, user: Principal, filters: ListFilters, page: Page = Page()
) -> list[TransportRequest]:
    """Requests by preferred time, then id (admin: everybody's; anyone else: their own), filtered by status and
    dates, a page at a time: the order is total, so pages neither repeat nor skip a row."""
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise BadRequest("Invalid request", [{"field": "to", "message": "must not be before 'from'"}])
    query = select(TransportRequest)
    if not user.is_admin:
        query = query.where(TransportRequest.user_id == user.id)
    elif filters.user_id is not None:
        query = query.where(TransportRequest.user_id == filters.user_id)
    if filters.booking_id is not None:
        query = query.where(TransportRequest.booking_id == filters.booking_id)
    if filters.statuses:
        query = query.where(TransportRequest.status.in_(filters.statuses))
    # Dates are Nairobi calendar days: what the team means by "the trucks of the 3rd".
    if filters.on_date is not None:
        query = query.where(
            TransportRequest.preferred_time >= _nairobi_midnight(filters.on_date),
            TransportRequest.preferred_time < _nairobi_midnight(filters.on_date + timedelta(days=1)),
        )
    if filters.date_from is not None:
        query = query.where(TransportRequest.preferred_time >= _nairobi_midnight(filters.date_from))
    if filters.date_to is not None:
        query = query.where(TransportRequest.preferred_time < _nairobi_midnight(filters.date_to + timedelta(days=1)))
    if page.order == "recent":  # the board's closed requests: what was just completed or cancelled comes first
        query = query.order_by(TransportRequest.updated_at.desc(), TransportRequest.id.desc())
    elif page.order == "desc":
        query = query.order_by(TransportRequest.preferred_time.desc(), TransportRequest.id.desc())
    else:
        query = query.order_by(TransportRequest.preferred_time, TransportRequest.id)
    query = query.offset(page.offset)
    if page.limit is not None:
        query = query.limit(page.limit)
    return list(session.scalars(query).all())


def change_status(*, session: Session, request_id: int, status: str, actor: Principal) -> TransportRequest:
    """Move a request along the allowed transitions (admin); any other move is a conflict."""
    request = session.scalars(
        select(TransportRequest).where(TransportRequest.id == request_id).with_for_update()
    ).one_or_none()
    if request is None:
        raise NotFound("Transport request not found")
    previous = request.status
    if status not in ALLOWED_MOVES[previous]:
        raise Conflict(f"Cannot change a transport request from {previous} to {status}")
    request.status = status
    request.updated_at = func.now()
    session.flush()
    _stage_status_changed(session, request, previous_status=previous)
    audit.record(session, actor, "transport_request.status_changed", f"transport_request:{request_id}",
                 {"from": previous, "to": status})
    session.commit()
    session.refresh(request)
    return request


# --- reactions to booking events (run inside the consumer's transaction; they never commit) ----------
# A cancellation is final, with one exception from the booking service's rules: only an unconfirmed booking ever
# expires, and a payment that comes after the expiry confirms the booking again when its dates are still free. So
# an expiry and a confirmation of one booking meet in one order only, whatever order they are delivered in: the
# confirmation wins (it revives a booking cancelled as `expired`; an expiry never touches a confirmed booking, nor
# one cancelled for good by its owner or an admin: it came before the confirmation that revived it), as in
# inventory. The booking service's answer on a miss is applied with the same statements, as the event its status
# stands for. Built once: every event only binds its values.
_KNOWN = cast(Table, KnownBooking.__table__)
_EXPIRED = "expired"
# A booking the booking service answered pending (transport hears no BookingCreated): an event landed meanwhile wins.
_REMEMBER = (
    insert(_KNOWN)
    .values(booking_id=bindparam("booking_id"), user_id=bindparam("user_id"), cancelled=False)
    .on_conflict_do_nothing(index_elements=["booking_id"])
)
_CONFIRM = (
    insert(_KNOWN)
    .values(booking_id=bindparam("booking_id"), user_id=bindparam("user_id"), cancelled=False, confirmed=True)
    .on_conflict_do_update(index_elements=["booking_id"], set_={
        "confirmed": True,
        "cancelled": and_(_KNOWN.c.cancelled, _KNOWN.c.cancel_reason.is_distinct_from(_EXPIRED)),
        "cancel_reason": case((_KNOWN.c.cancel_reason == _EXPIRED, None), else_=_KNOWN.c.cancel_reason),
        "updated_at": func.now(),
    })
)
_REASON = bindparam("reason", type_=Text())  # None: a booking service that did not say why (final)
_FORGET = (
    insert(_KNOWN)
    .values(booking_id=bindparam("booking_id"), user_id=bindparam("user_id"), cancelled=True, cancel_reason=_REASON)
    .on_conflict_do_update(
        index_elements=["booking_id"],
        set_={"cancelled": True, "cancel_reason": _REASON, "updated_at": func.now()},
        where=or_(
            _REASON.is_distinct_from(_EXPIRED),
            and_(not_(_KNOWN.c.confirmed),
                 or_(_KNOWN.c.cancel_reason.is_(None), _KNOWN.c.cancel_reason == _EXPIRED)),
        ),
    )
    .returning(_KNOWN.c.booking_id)
)
_OPEN_REQUESTS_OF_BOOKING = (
    select(TransportRequest)
    .where(TransportRequest.booking_id == bindparam("booking_id"))
    .where(TransportRequest.status.in_(OPEN_STATUSES))
    .order_by(TransportRequest.id)
    .with_for_update()
)


# CustomerErased: what the customer wrote goes (NOT NULL columns: a placeholder); ids, dates, status, distance and
# price stay. A request erased already is not written again.
ERASED = "(erased)"
_REQUESTS = cast(Table, TransportRequest.__table__)
_ERASE_REQUESTS = (
    update(_REQUESTS)
    .where(
        _REQUESTS.c.user_id == bindparam("erased_user"),
        or_(
            _REQUESTS.c.pickup_address != ERASED,
            _REQUESTS.c.delivery_address != ERASED,
            _REQUESTS.c.items_description != ERASED,
        ),
    )
    .values(pickup_address=ERASED, delivery_address=ERASED, items_description=ERASED, updated_at=func.now())
)


def confirm_booking(*, session: Session, booking_id: int, user_id: int) -> None:
    """Record a booking confirmed: one cancelled as expired is a booking again (its cancelled requests stay so)."""
    session.execute(_CONFIRM, {"booking_id": booking_id, "user_id": user_id})


def cancel_booking(*, session: Session, booking_id: int, user_id: int, reason: str) -> list[TransportRequest]:
    """Mark a booking cancelled and cancel its open (requested, scheduled, in progress) transport requests; returns
    those. An expiry of
    a booking known confirmed, or cancelled for good, changes nothing (it was delivered after the confirmation that
    followed it)."""
    # Upserting the booking row locks it: a create that read it as active (FOR SHARE) commits first,
    # and its request is then seen and cancelled below; a later create sees it cancelled.
    if session.execute(_FORGET, {"booking_id": booking_id, "user_id": user_id, "reason": reason}).first() is None:
        log.info("booking %s: an expiry delivered after its confirmation or final cancellation changes nothing",
                 booking_id)
        return []
    requests = session.scalars(_OPEN_REQUESTS_OF_BOOKING, {"booking_id": booking_id}).all()
    cancelled = []
    for request in requests:
        if request.status == "in_progress":
            log.warning(
                "booking %s cancelled while transport request %s is in progress: cancelled, tell the crew",
                booking_id,
                request.id,
                extra={"booking_id": booking_id, "request_id": request.id},
            )
        previous = request.status
        request.status = "cancelled"
        request.updated_at = func.now()
        session.flush()
        _stage_status_changed(session, request, previous_status=previous)
        cancelled.append(request)
    return cancelled


def open_requests(*, session: Session, user_id: int) -> list[Hold]:
    """What the customer still has here (GET /internal/users/{id}/holds, asked before auth erases the account): each
    transport request not yet completed or cancelled: the team still needs the addresses."""
    rows = session.scalars(
        select(TransportRequest)
        .where(TransportRequest.user_id == user_id, TransportRequest.status.in_(OPEN_STATUSES))
        .order_by(TransportRequest.id)
    ).all()
    return [Hold(kind="transport", id=row.id, detail=f"transport request {row.id} is {row.status.replace('_', ' ')}")
            for row in rows]


def erase_customer(*, session: Session, user_id: int) -> None:
    """Remove the person from their transport requests: the addresses and the description of their belongings."""
    session.execute(_ERASE_REQUESTS, {"erased_user": user_id})


# --- helpers -------------------------------------------------------------------------------------------
def _lock_known_booking(session: Session, booking_id: int, booking_service: Peer) -> KnownBooking | None:
    """The booking as transport knows it, share-locked until commit; asks the booking service if unheard of
    (with no transaction open meanwhile)."""

    def save(fetched: InternalBooking) -> None:
        if fetched.booking_id != booking_id:
            raise UpstreamUnavailable("The booking service is unavailable, please retry", 503)
        # The answer is applied as the event its status stands for, by the events' own statements: an event landed
        # meanwhile and the ones still to come meet it by the same rule, and the cancel reason is kept (without it,
        # a booking first heard of here while cancelled as expired stayed cancelled when a late payment revived it).
        values = {"booking_id": booking_id, "user_id": fetched.user_id}
        if fetched.status == "cancelled":
            session.execute(_FORGET, {**values, "reason": fetched.cancel_reason})
        elif fetched.status == "confirmed":
            session.execute(_CONFIRM, values)
        else:  # pending (or a status this service does not know yet): a booking requests may be tied to
            session.execute(_REMEMBER, values)

    return fetch_on_miss(
        session,
        load=lambda: _select_booking_for_share(session, booking_id),
        fetch=lambda: booking_service.get_as(f"/internal/bookings/{booking_id}", InternalBooking),
        save=save,
    )


def _select_booking_for_share(session: Session, booking_id: int) -> KnownBooking | None:
    return session.scalars(
        select(KnownBooking)
        .where(KnownBooking.booking_id == booking_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).one_or_none()


def _stage_status_changed(session: Session, request: TransportRequest, *, previous_status: str | None) -> None:
    stage(
        session,
        TransportStatusChanged(
            request_id=request.id,
            user_id=request.user_id,
            booking_id=request.booking_id,
            status=request.status,  # type: ignore[arg-type]
            previous_status=previous_status,  # type: ignore[arg-type]
        ),
    )


def _nairobi_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=NAIROBI).astimezone(UTC)
