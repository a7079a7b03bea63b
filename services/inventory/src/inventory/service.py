"""Use cases of the inventory service: each owns its transaction and stages the events it causes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, not_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from inventory.models import Unit, UnitBooking
from jeshkit import audit
from jeshkit.audit import Actor
from jeshkit.clock import NAIROBI, nairobi_today
from jeshkit.errors import BadRequest, Conflict, NotFound
from jeshkit.events import UnitCreated, UnitUpdated, stage
from jeshkit.pglisten import notify

# NOTIFY channel of every change that can alter a unit's listing (units, and the bookings that hold them):
# each replica empties its cache of list answers when it hears it.
UNITS_CHANGED = "inventory_units_changed"


@dataclass(frozen=True, slots=True)
class UnitView:
    id: int
    unit_number: str
    size: str
    dimensions: str
    monthly_price: int
    status: str
    description: str | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class UnitFilters:
    status: str | None = None
    size: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    available_from: date | None = None
    available_to: date | None = None


# --- the derived status, as SQL ------------------------------------------------------------------

def _active_booking(now: datetime, today: date) -> ColumnElement[bool]:
    """A booking holds its dates while confirmed, or held and its hold not expired, and not yet ended."""
    return and_(
        UnitBooking.unit_id == Unit.id,
        UnitBooking.state != "cancelled",  # lets the planner use the partial index ix_unit_bookings_active
        or_(UnitBooking.end_date.is_(None), UnitBooking.end_date > today),
        or_(
            UnitBooking.state == "confirmed",
            and_(
                UnitBooking.state == "held",
                or_(UnitBooking.hold_expires_at.is_(None), UnitBooking.hold_expires_at > now),
            ),
        ),
    )


def _has_active_booking(now: datetime, today: date) -> ColumnElement[bool]:
    return exists().where(_active_booking(now, today))


def _status(now: datetime, today: date) -> ColumnElement[str]:
    return case(
        (Unit.in_maintenance, literal("maintenance")),
        (_has_active_booking(now, today), literal("booked")),
        else_=literal("available"),
    )


def _unit_query(now: datetime) -> Any:
    today = nairobi_today(now)
    return select(
        Unit.id,
        Unit.unit_number,
        Unit.size,
        Unit.dimensions,
        Unit.monthly_price,
        _status(now, today).label("status"),
        Unit.description,
    )


def _view(row: Any) -> UnitView:
    return UnitView(*row)  # the columns of _unit_query, in the dataclass's order


def _fetch_unit(session: Session, unit_id: int, now: datetime) -> UnitView:
    row = session.execute(_unit_query(now).where(Unit.id == unit_id)).first()
    if row is None:
        raise NotFound("Unit not found")
    return _view(row)


def _unit_facts(unit: Unit) -> dict[str, Any]:
    return {
        "unit_id": unit.id,
        "unit_number": unit.unit_number,
        "size": unit.size,
        "monthly_price": unit.monthly_price,
        "bookable": not unit.in_maintenance,
    }


# --- use cases -----------------------------------------------------------------------------------

def list_units(*, session: Session, filters: UnitFilters) -> list[UnitView]:
    """The catalogue, filtered, with each unit's status, in one query."""
    # No cache in front of this: the query costs a few ms even for 1,000 units and 20,000 bookings, while a
    # cache shared correctly by replicas would still need a round trip (a version counter that every booking
    # event and admin change bumps, one hot row) plus expiry at each hold's end and at Nairobi midnight.
    now = datetime.now(UTC)
    today = nairobi_today(now)
    query = _unit_query(now).order_by(Unit.id)
    booked = _has_active_booking(now, today)
    if filters.status == "maintenance":
        query = query.where(Unit.in_maintenance)
    elif filters.status == "booked":
        query = query.where(not_(Unit.in_maintenance), booked)
    elif filters.status == "available":
        query = query.where(not_(Unit.in_maintenance), not_(booked))
    if filters.size is not None:
        # Both sides lowered by PostgreSQL, by the same rules: Python's lower() of the filter against the database's of
        # the column missed a size with a capital PostgreSQL does not lower (under the C locale, any non-ASCII one:
        # "Ndogo Ürefu" was not found by itself).
        query = query.where(func.lower(Unit.size) == func.lower(filters.size))
    if filters.min_price is not None:
        query = query.where(Unit.monthly_price >= filters.min_price)
    if filters.max_price is not None:
        query = query.where(Unit.monthly_price <= filters.max_price)
    if filters.available_from is not None and filters.available_to is not None:
        # Free for [from, to): not in maintenance and no active booking overlapping it (end dates exclusive).
        overlapping = exists().where(
            _active_booking(now, today),
            UnitBooking.start_date < filters.available_to,
            or_(UnitBooking.end_date.is_(None), UnitBooking.end_date > filters.available_from),
        )
        query = query.where(not_(Unit.in_maintenance), not_(overlapping))
    # Core execution: the rows are plain tuples, no ORM identity map on the hottest path.
    return [_view(row) for row in session.connection().execute(query)]


def listing_valid_for(*, session: Session, now: datetime) -> float:
    """Seconds until a listing computed now may change with no event: the next hold expiry or Kenyan midnight."""
    next_expiry = session.execute(
        select(func.min(UnitBooking.hold_expires_at)).where(
            UnitBooking.state == "held", UnitBooking.hold_expires_at > now
        )
    ).scalar()
    midnight = datetime.combine(nairobi_today(now) + timedelta(days=1), datetime.min.time(), NAIROBI)
    until = min(t for t in (next_expiry, midnight) if t is not None)
    return (until - now).total_seconds()


def get_unit(*, session: Session, unit_id: int) -> UnitView:
    """One unit with its status; NotFound when unknown."""
    return _fetch_unit(session, unit_id, datetime.now(UTC))


def create_unit(
    *,
    session: Session,
    unit_number: str,
    size: str,
    dimensions: str,
    monthly_price: int,
    description: str | None,
    actor: Actor,
) -> UnitView:
    """Add a unit to the catalogue (unit numbers unique, case-insensitively) and announce UnitCreated."""
    unit_id = session.execute(
        insert(Unit)
        .values(
            unit_number=unit_number,
            size=size,
            dimensions=dimensions,
            monthly_price=monthly_price,
            description=description,
        )
        .on_conflict_do_nothing(index_elements=[func.lower(Unit.unit_number)])
        .returning(Unit.id)
    ).scalar()
    if unit_id is None:
        session.rollback()
        raise Conflict("Unit number already exists")
    unit = session.get_one(Unit, unit_id)
    stage(session, UnitCreated(**_unit_facts(unit)))
    notify(session, UNITS_CHANGED)  # every replica's cached lists lack it
    audit.record(session, actor, "unit.created", f"unit:{unit_id}",
                 {"unit_number": unit_number, "size": size, "monthly_price": monthly_price})
    view = _fetch_unit(session, unit_id, datetime.now(UTC))
    session.commit()
    return view


def update_unit(*, session: Session, unit_id: int, changes: dict[str, Any], actor: Actor) -> UnitView:
    """Apply an admin's changes (status: maintenance on/off only; `booked` follows bookings) and announce them
    (UnitUpdated, none when nothing changed)."""
    if not changes:
        raise BadRequest("Nothing to update: send any of status, monthly_price, size, dimensions, description")
    unit = session.get(Unit, unit_id, with_for_update=True)
    if unit is None:
        raise NotFound("Unit not found")
    now = datetime.now(UTC)
    before = _fields(unit)
    fields = dict(changes)
    wanted_status = fields.pop("status", None)
    if wanted_status == "maintenance":
        unit.in_maintenance = True
    elif wanted_status == "available":
        if unit.in_maintenance:
            # Ending maintenance never hides a booking: the derived status shows `booked` if one holds it.
            unit.in_maintenance = False
        elif _unit_has_active_booking(session, unit_id, now):
            raise Conflict("Unit has an active booking: its availability follows its bookings")
    elif wanted_status == "booked" and _fetch_unit(session, unit_id, now).status != "booked":
        raise Conflict("A unit is booked only by a booking: status 'booked' cannot be set by hand")
    for name, value in fields.items():
        setattr(unit, name, value)
    if _fields(unit) != before:
        unit.updated_at = now
        stage(session, UnitUpdated(**_unit_facts(unit)))
        notify(session, UNITS_CHANGED)
    audit.record(session, actor, "unit.updated", f"unit:{unit_id}", {"changes": changes})
    session.flush()
    view = _fetch_unit(session, unit_id, now)
    session.commit()
    return view


def unit_availability(*, session: Session, unit_id: int) -> list[tuple[date, date | None]]:
    """The date ranges [start, end) taken by the unit's active bookings that have not ended, in order."""
    now = datetime.now(UTC)
    _fetch_unit(session, unit_id, now)
    rows = session.execute(
        select(UnitBooking.start_date, UnitBooking.end_date)
        .join(Unit, Unit.id == UnitBooking.unit_id)
        .where(Unit.id == unit_id, _active_booking(now, nairobi_today(now)))
        .order_by(UnitBooking.start_date, UnitBooking.end_date)
    )
    return [(row.start_date, row.end_date) for row in rows]


def bookable_unit(*, session: Session, unit_id: int) -> dict[str, Any]:
    """What the booking service needs of a unit (same data as UnitCreated/UnitUpdated); NotFound when unknown."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("Unit not found")
    return _unit_facts(unit)


def _fields(unit: Unit) -> tuple[Any, ...]:
    return (unit.size, unit.dimensions, unit.monthly_price, unit.description, unit.in_maintenance)


def _unit_has_active_booking(session: Session, unit_id: int, now: datetime) -> bool:
    query = select(_has_active_booking(now, nairobi_today(now))).where(Unit.id == unit_id)
    return bool(session.execute(query).scalar())


def percent(part: int, whole: int) -> float:
    """part / whole in percent to one decimal, a half rounded up, in integers (1 of 16 units is 6.3 %: round() of
    the float gave 6.2, its halves going to the even digit); 0.0 when there is no whole."""
    if not whole:
        return 0.0
    return (2000 * part + whole) // (2 * whole) / 10


def occupancy(*, session: Session) -> dict[str, Any]:
    """Units by status; physical occupancy (occupied ÷ rentable units) and economic occupancy (rent of the
    occupied units ÷ rent of all rentable units), in percent. Rentable: not in maintenance. Occupied: a
    confirmed booking covers today. A monthly rental's rent is its own rate, any other unit's its price."""
    now = datetime.now(UTC)
    today = nairobi_today(now)
    by_status = dict.fromkeys(("available", "booked", "maintenance"), 0)
    for status, count in session.execute(
        select(_status(now, today).label("status"), func.count()).select_from(Unit).group_by("status")
    ):
        by_status[status] = int(count)
    occupant = (
        select(UnitBooking.unit_id, func.max(UnitBooking.monthly_rate).label("monthly_rate"))
        .where(
            UnitBooking.state == "confirmed",
            UnitBooking.start_date <= today,
            or_(UnitBooking.end_date.is_(None), UnitBooking.end_date > today),
        )
        .group_by(UnitBooking.unit_id)
        .subquery()
    )
    rentable, occupied, potential_rent, occupied_rent = session.execute(
        select(
            func.count(),
            func.count(occupant.c.unit_id),
            func.coalesce(func.sum(Unit.monthly_price), 0),
            func.coalesce(
                func.sum(case((occupant.c.unit_id.is_not(None),
                               func.coalesce(occupant.c.monthly_rate, Unit.monthly_price)), else_=0)),
                0,
            ),
        )
        .select_from(Unit)
        .outerjoin(occupant, occupant.c.unit_id == Unit.id)
        .where(not_(Unit.in_maintenance))
    ).one()
    session.commit()
    return {
        "as_of": today,
        "units": sum(by_status.values()),
        "by_status": by_status,
        "rentable_units": int(rentable),
        "occupied_units": int(occupied),
        "physical_occupancy": percent(int(occupied), int(rentable)),
        "potential_rent": int(potential_rent),
        "occupied_rent": int(occupied_rent),
        "economic_occupancy": percent(int(occupied_rent), int(potential_rent)),
    }
