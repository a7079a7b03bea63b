"""Thin HTTP routes of cash at the desk (admin): take cash for a booking or an invoice, read the day's cash book."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response

from jeshkit.clock import nairobi_today
from jeshkit.db import SessionDep
from jeshkit.schemas import ERROR_RESPONSES, Envelope
from jeshkit.security import AdminUser
from payments.api import UPSTREAM_ERRORS, card_orders_releaser
from payments.api_paybill import peers_of
from payments.models import Payment
from payments.schemas import (
    CashBook,
    CashCountIn,
    CashCountView,
    CashIn,
    CashMovementIn,
    CashMovementView,
    CashReversalIn,
    PaymentRecord,
)
from payments.service import cash, drawer, payment_record

cash_router = APIRouter(prefix="/api/payments", tags=["payments"])
# The console's, one per form: the same request sent again (a lost answer, a double click) is recorded once.
IDEMPOTENCY_KEY = Header(default=None, alias="Idempotency-Key", min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")


def answered_again(model: object, what: str, errors: dict[int | str, dict[str, object]] = ERROR_RESPONSES,
                   ) -> dict[int | str, dict[str, object]]:
    """The responses of a route that answers 201 when it records and 200 with the same record when it is asked again
    (a retry): both documented, with their envelope."""
    return {**errors, 200: {"model": model, "description": f"{what} already: the same one (a retry)"}}


@cash_router.post("/cash", response_model=Envelope[PaymentRecord], status_code=201,
                  responses=answered_again(Envelope[PaymentRecord], "Recorded", UPSTREAM_ERRORS),
                  summary="Record cash taken at the desk (admin)")
def take_cash(
    body: CashIn, admin: AdminUser, session: SessionDep, request: Request, response: Response,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Envelope[PaymentRecord]:
    """A customer paid in cash: a pending booking's exact price (`JESH-<id>`) or any amount for a rental's invoices
    (`INV-000123`, or the rental's `JESH-<id>`: billing puts it on the open invoices, oldest first, the rest is credit).
    It is a payment like any other: the booking confirms, the invoices are paid, the customer gets the receipt SMS
    (`CASH-000123`). 201 when recorded; the same `Idempotency-Key` again answers 200 with the same payment (409 when
    that key was used for another account or amount); 409 when the account cannot take the money (the reason is
    given; a card order the customer left unpaid on Pesapal's page does not stop it, an M-PESA prompt still waiting
    for them does); 503 when billing or booking cannot answer."""
    payment_id, created = cash.receive(
        session=session, peers=peers_of(request.app.state), typed=body.account, amount=body.amount, note=body.note,
        key=idempotency_key, admin=admin,
        release_card_orders=lambda booking_id: card_orders_releaser(request, session, booking_id=booking_id)())
    if not created:
        response.status_code = 200
    payment = session.get(Payment, payment_id)
    assert payment is not None
    record = PaymentRecord(**payment_record(payment))
    session.rollback()
    return Envelope(data=record)


@cash_router.get("/cash", response_model=Envelope[CashBook], responses=ERROR_RESPONSES,
                 summary="The day's cash book (admin)")
def cash_book(_: AdminUser, session: SessionDep,
              day: date | None = Query(default=None, description="YYYY-MM-DD; today in Nairobi by default"),
              ) -> Envelope[CashBook]:
    """The day at the desk (Nairobi time), newest first: what the drawer held when the day began (`opening`), the cash
    taken and handed back (`net`), the cash banked and the float put in, what it should hold at the close (`closing`;
    today: now) and the drawer's counts."""
    return Envelope(data=CashBook(**drawer.cash_book(session=session, day=day or nairobi_today())))


@cash_router.post("/cash/counts", response_model=Envelope[CashCountView], status_code=201,
                  responses=ERROR_RESPONSES, summary="Count the drawer (admin)")
def count_drawer(body: CashCountIn, admin: AdminUser, session: SessionDep) -> Envelope[CashCountView]:
    """What the operator counted in the drawer for a day (today by default; 400 for a day to come), kept with what the
    cash book says it should hold at that day's close (`expected`; today: now) and the `difference` (below 0: short).
    Audited (`cash.counted`). Counting again adds a count: the newest is the day's, and every count is listed in the
    day's cash book."""
    return Envelope(data=CashCountView(**drawer.count_drawer(session=session, day=body.day, counted=body.counted,
                                                            note=body.note, admin=admin)))


@cash_router.post("/cash/movements", response_model=Envelope[CashMovementView], status_code=201,
                  responses=answered_again(Envelope[CashMovementView], "Recorded"),
                  summary="Bank cash from the drawer, or put in float (admin)")
def move_cash(
    body: CashMovementIn, admin: AdminUser, session: SessionDep, response: Response,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Envelope[CashMovementView]:
    """`banked`: cash taken out of the drawer to the bank (409 when more than the drawer should hold); `float`: cash put
    into it from elsewhere. Either changes what the drawer should hold from now on. Audited (`cash.banked`,
    `cash.float`). 201 when recorded; the same `Idempotency-Key` again answers 200 with the same movement (409 when
    that key was used for another kind or amount)."""
    moved, created = drawer.move(session=session, kind=body.kind, amount=body.amount, reference=body.reference,
                                 note=body.note, key=idempotency_key, admin=admin)
    if not created:
        response.status_code = 200
    return Envelope(data=CashMovementView(**moved))


@cash_router.post("/cash/movements/{movement_id}/reversal", response_model=Envelope[CashMovementView],
                  status_code=201, responses=answered_again(Envelope[CashMovementView], "Reversed"),
                  summary="Reverse a cash movement recorded by mistake (admin)")
def reverse_cash_movement(movement_id: Annotated[int, Path(ge=1, le=2**63 - 1)], body: CashReversalIn,
                          admin: AdminUser, session: SessionDep, response: Response) -> Envelope[CashMovementView]:
    """A banking or float recorded by mistake is never edited nor deleted: its reversal, a movement of the same kind
    and the opposite amount with the `reason` as its note, cancels it from now on (it shows in today's cash book, the
    first keeps `reversed_by`). Then record the right movement. Reversing a float takes it back out of the drawer: 409
    when the drawer should hold less. Audited (`cash.reversed`). 201 when reversed; 200 with the same reversal when the
    movement was reversed already (a retry); 404 for no such movement; 409 for a reversal."""
    reversal, created = drawer.reverse(session=session, movement_id=movement_id, reason=body.reason, admin=admin)
    if not created:
        response.status_code = 200
    return Envelope(data=CashMovementView(**reversal))
