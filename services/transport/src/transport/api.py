"""Thin HTTP routes of the transport service."""

from datetime import date
from typing import Annotated, Literal, cast, get_args

from fastapi import APIRouter, Path, Query, Request
from pydantic import WithJsonSchema

from jeshkit.db import SessionDep
from jeshkit.errors import BadRequest
from jeshkit.peers import Peer
from jeshkit.schemas import ERROR_RESPONSES, Envelope
from jeshkit.security import AdminUser, CurrentUser
from transport import service
from transport.models import TransportRequest
from transport.schemas import MAX_ID, Created, Status, StatusChange, TransportRequestCreate, TransportRequestOut
from transport.settings import Settings

router = APIRouter(prefix="/api/transport-requests", tags=["transport"], responses=ERROR_RESPONSES)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
# A status of the list's filter, checked by _statuses (a 400 on the field `status`, not `status.0`).
StatusParam = Annotated[str, WithJsonSchema({"type": "string", "enum": list(get_args(Status))})]
# A page of the planning list, as booking's lists: 200 rows when no limit is given, at most 1000.
DEFAULT_LIMIT = 200
MOST_ROWS = 1000


def _out(row: TransportRequest) -> TransportRequestOut:
    return TransportRequestOut.model_validate(row, from_attributes=True)


def _statuses(values: list[str]) -> tuple[str, ...]:
    """The statuses asked for, each once; an unknown one is a 400 on the field `status` (as when one was allowed)."""
    known = get_args(Status)
    if any(value not in known for value in values):
        allowed = ", ".join(f"'{s}'" for s in known[:-1]) + f" or '{known[-1]}'"
        raise BadRequest("Invalid request", [{"field": "status", "message": f"Input should be {allowed}"}])
    return tuple(dict.fromkeys(values))


def _booking_service(request: Request) -> Peer:
    settings: Settings = request.app.state.settings
    return Peer("booking", settings.booking_url, request.app.state.http)


@router.post("", status_code=201, response_model=Envelope[Created], summary="Request a pickup or delivery (compat)")
def create_transport_request(
    body: TransportRequestCreate, user: CurrentUser, session: SessionDep, request: Request
) -> Envelope[Created]:
    """`estimated_cost` is computed by the server (TRANSPORT_BASE_FEE + ceil(distance * TRANSPORT_PER_KM));
    one sent by the client is ignored. `booking_id`, when given, must be the caller's own, not cancelled,
    booking (400 "Invalid booking" otherwise)."""
    settings: Settings = request.app.state.settings
    created = service.create_request(
        session=session,
        user=user,
        payload=body,
        tariff=service.Tariff(base_fee=settings.transport_base_fee, per_km=settings.transport_per_km),
        booking_service=_booking_service(request),
    )
    status = cast(Status, created.status)  # the column's check constraint allows only these
    return Envelope(data=Created(id=created.id, status=status, estimated_cost=created.estimated_cost))


@router.get("", response_model=Envelope[list[TransportRequestOut]], summary="List requests for planning the trucks")
def list_transport_requests(
    user: CurrentUser,
    session: SessionDep,
    status: Annotated[list[StatusParam] | None, Query(description="one status, or several (`status=completed&status="
                                                   "cancelled`): requests in any of them")] = None,
    on_date: Annotated[date | None, Query(alias="date", description="one Nairobi calendar day, YYYY-MM-DD")] = None,
    date_from: Annotated[date | None, Query(alias="from", description="first Nairobi day, YYYY-MM-DD")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="last Nairobi day (inclusive), YYYY-MM-DD")] = None,
    user_id: OptionalId = None,
    booking_id: OptionalId = None,
    order: Annotated[Literal["asc", "desc", "recent"], Query(
        description="by `preferred_time` then id: `asc` the soonest first, `desc` the latest first; `recent`: the "
                    "last changed first (e.g. the requests just completed or cancelled)")] = "asc",
    limit: Annotated[int, Query(ge=1, le=MOST_ROWS)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Envelope[list[TransportRequestOut]]:
    """Sorted by `preferred_time` (then id), a page of `limit` rows from `offset`. An admin sees every user's
    requests (and may filter by `user_id`); anyone else sees only their own. Date filters apply to
    `preferred_time`, in Nairobi calendar days."""
    filters = service.ListFilters(
        statuses=_statuses(status or []),
        on_date=on_date,
        date_from=date_from,
        date_to=date_to,
        user_id=user_id,
        booking_id=booking_id,
    )
    page = service.Page(limit=limit, offset=offset, order=order)
    rows = service.list_requests(session=session, user=user, filters=filters, page=page)
    return Envelope(data=[_out(row) for row in rows])


@router.get(
    "/{user_id}", response_model=Envelope[list[TransportRequestOut]], summary="A user's requests (compat)"
)
def list_user_transport_requests(
    user_id: Id, user: CurrentUser, session: SessionDep
) -> Envelope[list[TransportRequestOut]]:
    """Newest first. Only that user or an admin; anybody else 403 "Unauthorized"."""
    rows = service.list_for_user(session=session, user=user, user_id=user_id)
    return Envelope(data=[_out(row) for row in rows])


@router.patch(
    "/{request_id}/status", response_model=Envelope[TransportRequestOut], summary="Change a request's status (admin)"
)
def change_transport_request_status(
    request_id: Id, body: StatusChange, admin: AdminUser, session: SessionDep
) -> Envelope[TransportRequestOut]:
    """Forward only: requested→scheduled→in_progress→completed, and →cancelled from any state before
    completed. Any other move (including to the same status) is 409; an unknown status value is 400."""
    changed = service.change_status(session=session, request_id=request_id, status=body.status, actor=admin)
    return Envelope(data=_out(changed))
