"""Thin HTTP routes of the booking service."""

from __future__ import annotations

from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from booking import rentals, service
from booking.schemas import (
    MAX_ID,
    AnyBookingOut,
    BookingCreate,
    BookingForCustomer,
    BookingOut,
    BookingStatus,
    MoveOut,
)
from booking.settings import Settings
from jeshkit.applied import wait
from jeshkit.db import SessionDep
from jeshkit.errors import Forbidden
from jeshkit.events import BookingCancelled, BookingCreated, BookingMovedOut, UnitReleased
from jeshkit.internal import InternalBooking
from jeshkit.peers import Peer
from jeshkit.schemas import ERROR_RESPONSES, Envelope
from jeshkit.security import AdminUser, CurrentUser, Principal

router = APIRouter(prefix="/api/bookings", tags=["booking"], responses=ERROR_RESPONSES)
internal_router = APIRouter(prefix="/internal/bookings", include_in_schema=False)
# What inventory consumes of what a booking, a cancellation or a move-out commits: the request answers once inventory
# has applied it, so that the unit's status and dates follow at once (the contract).
AT_ONCE = (BookingCreated, BookingCancelled, BookingMovedOut, UnitReleased)

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


# async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request for nothing.
async def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def inventory_peer(request: Request) -> Peer:
    """Inventory's internal API (for a unit this service has not heard of yet)."""
    return Peer("inventory", cast(Settings, request.app.state.settings).inventory_url, request.app.state.http)


InventoryDep = Annotated[Peer, Depends(inventory_peer)]
SettingsDep = Annotated[Settings, Depends(_settings)]


def _answer(data: BookingOut | list[BookingOut], status_code: int = 200) -> Response:
    """The success envelope, serialized here, in the route's thread: a model returned to FastAPI by a sync route is
    validated against response_model again, in one more thread hop. The bytes are the same; the route's
    response_model still documents the answer."""
    return Response(Envelope(data=data).model_dump_json(), status_code=status_code, media_type="application/json")


@router.post("", status_code=201, response_model=Envelope[AnyBookingOut], summary="Book a unit (compat)")
def create_booking(
    body: BookingCreate, user: CurrentUser, session: SessionDep, inventory: InventoryDep, settings: SettingsDep,
    request: Request,
) -> Response:
    """201 with the new pending booking; 404 unknown unit; 400 `Unit not available` (maintenance or overlap).

    `plan:"monthly"`: a monthly rental (`end_date` optional, `monthly_rate` fixed now, `total_price` = first month)."""
    return _book(body, user.id, user, session=session, inventory=inventory, settings=settings, request=request)


@router.post("/for-customer", status_code=201, response_model=Envelope[AnyBookingOut],
             summary="Book a unit for a customer (admin)")
def create_booking_for_customer(
    body: BookingForCustomer, admin: AdminUser, session: SessionDep, inventory: InventoryDep, settings: SettingsDep,
    request: Request,
) -> Response:
    """A customer at the desk or on the phone: the booking is theirs (`user_id`: their bookings, their hold reminder,
    their payment), with the rules and answers of `POST /api/bookings`; then `POST /api/payments/mpesa/prompt` sends
    the M-PESA prompt to their phone. 404 `Customer not found` when auth has no such account, or its personal data
    was erased; 409 `Customer account is closed` when an operator closed it (503 when auth cannot be asked). The
    operator's act is in booking's audit log
    (`booking.created_for_customer`)."""
    service.check_customer(auth=Peer("auth", settings.auth_base_url, request.app.state.http), user_id=body.user_id)
    return _book(body, body.user_id, admin, session=session, inventory=inventory, settings=settings, request=request,
                 booked_by=admin)


def _book(body: BookingCreate, user_id: int, caller: Principal, *, session: Session, inventory: Peer,
          settings: Settings, request: Request, booked_by: Principal | None = None) -> Response:
    booking = service.create_booking(
        session=session,
        user_id=user_id,
        unit_id=body.unit_id,
        start_date=body.start_date,
        end_date=body.end_date,
        inventory=inventory,
        hold_seconds=settings.booking_hold_seconds,
        plan=body.plan,
        booked_by=booked_by,
    )
    wait(request, session, "inventory", AT_ONCE)  # the unit shows its dates taken at once (jeshkit.applied)
    return _answer(BookingOut.of(booking, admin=caller.is_admin), 201)


@router.get("", response_model=Envelope[list[AnyBookingOut]], summary="The caller's bookings (admin: all)")
def list_bookings(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    status: Annotated[BookingStatus | None, Query()] = None,
    user_id: QueryId = None,
    unit_id: QueryId = None,
    booking_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="that one booking (the caller's own, or any "
                                            "for an admin): a list of one, or empty")] = None,
    refund_status: Annotated[Literal["required"] | None, Query(description="Admins: bookings owing a refund")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    """A user sees only their own bookings (a `user_id` filter naming someone else is 403); an admin sees all."""
    if not user.is_admin:
        if user_id is not None and user_id != user.id:
            raise Forbidden("Unauthorized")
        user_id = user.id
    service.expire_holds(session=session, batch_size=settings.hold_sweep_batch_size, user_id=user_id)
    bookings = service.list_bookings(
        session=session,
        user_id=user_id,
        status=status,
        unit_id=unit_id,
        booking_id=booking_id,
        refund_status=refund_status,
        limit=limit,
        offset=offset,
        with_refunds=user.is_admin,
    )
    return _answer([BookingOut.of(b, admin=user.is_admin) for b in bookings])


@router.get("/{user_id}", response_model=Envelope[list[AnyBookingOut]], summary="A user's bookings (compat)")
def list_user_bookings(user_id: PathId, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> Response:
    """That user or an admin; anybody else 403."""
    if not user.is_admin and user.id != user_id:
        raise Forbidden("Unauthorized")
    service.expire_holds(session=session, batch_size=settings.hold_sweep_batch_size, user_id=user_id)
    bookings = service.list_bookings(session=session, user_id=user_id, with_refunds=user.is_admin)
    return _answer([BookingOut.of(b, admin=user.is_admin) for b in bookings])


@router.post("/{booking_id}/cancel", response_model=Envelope[AnyBookingOut], summary="Cancel a booking")
def cancel_booking(booking_id: PathId, user: CurrentUser, session: SessionDep, request: Request) -> Response:
    """Owner (while pending, or once paid until the day before it starts; from its start 409) or admin (any time);
    its dates are free at once. A paid booking's refund is raised by payments. Already cancelled: 409."""
    booking = service.cancel_booking(
        session=session, booking_id=booking_id, actor_id=user.id, actor_is_admin=user.is_admin
    )
    wait(request, session, "inventory", AT_ONCE)
    return _answer(BookingOut.of(booking, admin=user.is_admin))


@router.post("/{booking_id}/move-out", response_model=Envelope[AnyBookingOut], summary="Move-out notice (monthly)")
def move_out(booking_id: PathId, body: MoveOut, user: CurrentUser, session: SessionDep,
             request: Request) -> Response:
    """Owner or admin: a confirmed monthly rental ends on `move_out_date` (today or later, after start_date);
    the later dates are free at once and billing stops. Anything but a confirmed monthly rental: 409."""
    booking = rentals.move_out(
        session=session,
        booking_id=booking_id,
        actor_id=user.id,
        actor_is_admin=user.is_admin,
        move_out_date=body.move_out_date,
    )
    wait(request, session, "inventory", AT_ONCE)
    return _answer(BookingOut.of(booking, admin=user.is_admin))


@internal_router.get("/{booking_id}")
def internal_booking(booking_id: PathId, session: SessionDep) -> Envelope[InternalBooking]:
    """For peers (payments, transport): the booking as docs/integration.md describes it."""
    booking = service.get_booking(session=session, booking_id=booking_id)
    return Envelope(data=InternalBooking(
        booking_id=booking.id,
        user_id=booking.user_id,
        unit_id=booking.unit_id,
        start_date=booking.start_date,
        end_date=booking.end_date,
        total_price=booking.total_price,
        status=booking.status,
        payment_status=booking.payment_status,
        hold_expires_at=booking.hold_expires_at,
        cancel_reason=booking.cancel_reason,
    ))
