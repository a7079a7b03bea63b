"""Thin HTTP routes of the inventory service."""

import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BeforeValidator, Field, StringConstraints

from inventory import service
from inventory.schemas import DateRange, Occupancy, UnitCreate, UnitOut, UnitStatus, UnitUpdate
from jeshkit.applied import wait
from jeshkit.cache import request_key
from jeshkit.db import SessionDep
from jeshkit.errors import BadRequest
from jeshkit.events import UnitCreated, UnitUpdated
from jeshkit.inputs import DATE_PATTERN
from jeshkit.internal import InternalUnit
from jeshkit.schemas import ERROR_RESPONSES, Envelope, MessageEnvelope
from jeshkit.security import AdminUser

router = APIRouter(prefix="/api/units", tags=["inventory"])
internal_router = APIRouter(prefix="/internal/units", include_in_schema=False)
# What booking consumes of what an admin's unit create or update commits: the answer waits until booking has applied
# it, so that a booking made as soon as the admin has the answer follows the change (jeshkit.applied).
AT_ONCE = (UnitCreated, UnitUpdated)



def _blank_is_absent(value: object) -> object:
    # Forms send every filter, the unused ones empty (`?status=&size=`): those filter nothing.
    return None if isinstance(value, str) and not value.strip() else value


Blank = BeforeValidator(_blank_is_absent)
SizeFilter = Annotated[str, StringConstraints(max_length=50)]
PriceFilter = Annotated[int, Field(ge=0)]
# The form is checked by _day (one readable message for every bad date, never the pattern itself); the pattern is
# only documented.
DayFilter = Annotated[str, Field(json_schema_extra={"pattern": DATE_PATTERN})]
_DAY = re.compile(DATE_PATTERN)


def _day(value: str | None, field: str, errors: list[dict[str, str]]) -> date | None:
    if value is None:
        return None
    try:
        if not _DAY.match(value):  # fromisoformat also takes 20300101 and 2030-W01-1
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        errors.append({"field": field, "message": "Must be a real date in the form YYYY-MM-DD"})
        return None


async def unit_filters(
    status: Annotated[UnitStatus | None, Blank, Query()] = None,
    size: Annotated[SizeFilter | None, Blank, Query(description="exact size, case-insensitive")] = None,
    min_price: Annotated[PriceFilter | None, Blank, Query(description="KES per month, inclusive")] = None,
    max_price: Annotated[PriceFilter | None, Blank, Query(description="KES per month, inclusive")] = None,
    available_from: Annotated[
        DayFilter | None, Blank, Query(description="YYYY-MM-DD, together with available_to")
    ] = None,
    available_to: Annotated[
        DayFilter | None, Blank, Query(description="YYYY-MM-DD, exclusive (a booking's end date)")
    ] = None,
) -> service.UnitFilters:
    """The list's query parameters, checked together (400 with field errors)."""
    errors: list[dict[str, str]] = []
    start = _day(available_from, "available_from", errors)
    end = _day(available_to, "available_to", errors)
    if (available_from is None) != (available_to is None):
        missing = "available_to" if available_to is None else "available_from"
        errors.append({"field": missing, "message": "available_from and available_to go together"})
    elif start is not None and end is not None and start >= end:
        errors.append({"field": "available_to", "message": "Must be after available_from"})
    if min_price is not None and max_price is not None and min_price > max_price:
        errors.append({"field": "max_price", "message": "Must not be below min_price"})
    if errors:
        raise BadRequest("Invalid filter", errors)
    return service.UnitFilters(
        status=status,
        size=size.strip() if size is not None else None,
        min_price=min_price,
        max_price=max_price,
        available_from=start,
        available_to=end,
    )


@router.get("", response_model=Envelope[list[UnitOut]], responses=ERROR_RESPONSES)
async def list_units(request: Request, filters: Annotated[service.UnitFilters, Depends(unit_filters)]) -> Response:
    """The catalogue (anyone). `available_from`+`available_to`: only units free for that whole range."""
    # The hottest read path of the product: answers are cached per filter set, in every replica, and dropped
    # at once when any replica commits a change to units or bookings (see jeshkit.cache).
    # A cached answer never reaches this route: jeshkit.cache.CachedGetMiddleware serves it before routing.
    cache = request.app.state.response_cache
    generation = cache.generation
    body, valid_for = await run_in_threadpool(_listing, request.app.state.session_factory, filters)
    cache.put(request_key(request.scope), body, generation=generation, valid_for=valid_for)
    return Response(body, media_type="application/json")


def _listing(session_factory: Any, filters: service.UnitFilters) -> tuple[bytes, float]:
    with session_factory() as session:
        now = datetime.now(UTC)
        units = service.list_units(session=session, filters=filters)
        valid_for = service.listing_valid_for(session=session, now=now)
    body = json.dumps({"success": True, "data": [unit.as_dict() for unit in units]}, separators=(",", ":"))
    return body.encode(), valid_for


@router.post("", status_code=201, response_model=Envelope[UnitOut], responses=ERROR_RESPONSES)
def create_unit(body: UnitCreate, session: SessionDep, admin: AdminUser, request: Request) -> Envelope[UnitOut]:
    """Add a unit (admin). Duplicate unit_number (case-insensitive): 409."""
    unit = service.create_unit(session=session, **body.model_dump(), actor=admin)
    # Other replicas hear the commit's NOTIFY within milliseconds; this one forgets before it answers,
    # so that the admin's next read here shows the change.
    request.app.state.response_cache.invalidate()
    wait(request, session, "booking", AT_ONCE)  # booking prices by its copy of the unit
    return Envelope(data=UnitOut.model_validate(unit))


@router.get("/reports/occupancy", response_model=Envelope[Occupancy], responses=ERROR_RESPONSES)
def occupancy_report(session: SessionDep, _: AdminUser) -> Envelope[Occupancy]:
    """Admin: units by status; physical and economic occupancy today, in percent."""
    return Envelope(data=Occupancy.model_validate(service.occupancy(session=session)))


@router.get("/{unit_id}", response_model=Envelope[UnitOut], responses=ERROR_RESPONSES)
def get_unit(unit_id: int, session: SessionDep) -> Envelope[UnitOut]:
    """One unit (anyone)."""
    return Envelope(data=UnitOut.model_validate(service.get_unit(session=session, unit_id=unit_id)))


@router.put("/{unit_id}", response_model=MessageEnvelope[UnitOut], responses=ERROR_RESPONSES)
def update_unit(
    unit_id: int, body: UnitUpdate, session: SessionDep, admin: AdminUser, request: Request
) -> MessageEnvelope[UnitOut]:
    """Change a unit (admin): any of status, monthly_price, size, dimensions, description."""
    unit = service.update_unit(session=session, unit_id=unit_id, changes=body.changes(), actor=admin)
    request.app.state.response_cache.invalidate()
    wait(request, session, "booking", AT_ONCE)
    return MessageEnvelope(message="Unit updated", data=UnitOut.model_validate(unit))


@router.get("/{unit_id}/availability", response_model=Envelope[list[DateRange]], responses=ERROR_RESPONSES)
def unit_availability(unit_id: int, session: SessionDep) -> Envelope[list[DateRange]]:
    """The date ranges [start_date, end_date) taken by the unit's active bookings that have not ended."""
    ranges = service.unit_availability(session=session, unit_id=unit_id)
    return Envelope(data=[DateRange(start_date=start, end_date=end) for start, end in ranges])


@internal_router.get("/{unit_id}")
def internal_unit(unit_id: int, session: SessionDep) -> Envelope[InternalUnit]:
    """For the booking service, at each booking: the unit as it is now (never routed by the gateway)."""
    return Envelope(data=InternalUnit(**service.bookable_unit(session=session, unit_id=unit_id)))
