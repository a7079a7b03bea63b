"""Thin HTTP routes of the payments service."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from jeshkit.db import SessionDep
from jeshkit.errors import BadRequest
from jeshkit.middleware import bad_text
from jeshkit.openapi import json_body
from jeshkit.peers import Peer
from jeshkit.schemas import ERROR_RESPONSES, Envelope, ErrorEnvelope
from jeshkit.security import AdminUser, CurrentUser, Principal
from payments import service
from payments.daraja_wire import normalize_phone
from payments.schemas import (
    B2cResultRequest,
    CallbackAck,
    InitiateMpesaPayment,
    MoneyWaiting,
    MpesaPaymentStarted,
    PayInvoice,
    PaymentPrompt,
    PaymentRecord,
    PaymentStatus,
    RefundView,
    StkCallbackRequest,
    UnmatchedMoney,
)
from payments.service import card, payout_status
from payments.service.attention import money_waiting

log = logging.getLogger("payments.api")

router = APIRouter(prefix="/api/payments", tags=["payments"])
invoices_router = APIRouter(prefix="/api/invoices", tags=["payments"])

UPSTREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    502: {"model": ErrorEnvelope, "description": "M-PESA refused the request, is unavailable, or did not answer"},
}
# A Daraja callback is a few hundred bytes; anything much bigger is not one.
MAX_CALLBACK_BYTES = 64 * 1024
CALLBACK_ACK = {"ResultCode": 0, "ResultDesc": "Success"}
PHONE_ERROR = [{"field": "phone_number", "message": "must be a Kenyan mobile number such as 0712345678"}]


def _payer(raw: object) -> str:
    payer = normalize_phone(raw)
    if payer is None:
        raise BadRequest("Invalid phone number", PHONE_ERROR)
    return payer


@router.post("/mpesa/initiate", response_model=Envelope[MpesaPaymentStarted], responses=UPSTREAM_ERRORS)
def initiate_mpesa_payment(
    body: InitiateMpesaPayment, user: CurrentUser, session: SessionDep, request: Request
) -> Envelope[MpesaPaymentStarted]:
    """Send an M-PESA prompt to the owner's phone: a booking's total_price (compat) or an invoice's balance."""
    return _start_push(request, session, user, body, amount=body.amount, account_reference=body.account_reference)


@router.post("/mpesa/prompt", response_model=Envelope[MpesaPaymentStarted], responses=UPSTREAM_ERRORS,
             summary="An operator sends an M-PESA prompt to a customer's phone (admin)")
def prompt_mpesa_payment(
    body: PaymentPrompt, admin: AdminUser, session: SessionDep, request: Request
) -> Envelope[MpesaPaymentStarted]:
    """For a customer at the desk or on the phone: an STK Push to `phone_number` for their pending booking's
    total_price or their open invoice's balance, with the same rules and answers as `/mpesa/initiate`. The payment
    is the customer's (their receipts, their status); the admin's act is in payments' audit log
    (`payment.prompted`)."""
    return _start_push(request, session, admin, body, for_owner=True)


def _start_push(
    request: Request, session: Session, user: Principal, body: PaymentPrompt, *,
    amount: float | None = None, account_reference: str | None = None, for_owner: bool = False,
) -> Envelope[MpesaPaymentStarted]:
    if (body.booking_id is None) == (body.invoice_id is None):
        field = "booking_id" if body.booking_id is None else "invoice_id"
        raise BadRequest("Give either booking_id or invoice_id", [{"field": field, "message": "give exactly one"}])
    payer = _payer(body.phone_number)
    state = request.app.state
    if body.invoice_id is not None:
        return Envelope(data=MpesaPaymentStarted(**_pay_invoice(request, session, user, body.invoice_id, payer,
                                                                for_owner=for_owner, amount=amount)))
    assert body.booking_id is not None
    started = service.initiate_payment(
        session=session,
        booking_service=Peer("booking", state.settings.booking_url, state.http),
        provider=state.providers.get("mpesa"),
        user=user,
        booking_id=body.booking_id,
        payer=payer,
        amount=amount,
        account_reference=account_reference,
        min_hold_seconds=state.settings.min_hold_seconds,
        for_owner=for_owner,
        release_card_orders=card_orders_releaser(request, session, booking_id=body.booking_id),
    )
    return Envelope(data=MpesaPaymentStarted(**started))


@invoices_router.post("/{invoice_id}/pay", response_model=Envelope[MpesaPaymentStarted], responses=UPSTREAM_ERRORS)
def pay_invoice(
    invoice_id: int, body: PayInvoice, user: CurrentUser, session: SessionDep, request: Request
) -> Envelope[MpesaPaymentStarted]:
    """An STK Push for the invoice's balance, answered like /api/payments/mpesa/initiate."""
    payer = _payer(body.phone_number)
    return Envelope(data=MpesaPaymentStarted(**_pay_invoice(request, session, user, invoice_id, payer)))


def _pay_invoice(request: Request, session: Session, user: Principal, invoice_id: int, payer: str, *,
                 for_owner: bool = False, amount: float | None = None) -> dict[str, Any]:
    state = request.app.state
    billing_url = state.settings.billing_url
    return service.initiate_invoice_payment(
        session=session,
        billing=Peer("billing", billing_url, state.http) if billing_url else None,
        provider=state.providers.get("mpesa"),
        user=user,
        invoice_id=invoice_id,
        payer=payer,
        amount=amount,
        for_owner=for_owner,
        release_card_orders=card_orders_releaser(request, session, invoice_id=invoice_id),
    )


def card_orders_releaser(request: Request, session: Session, *, booking_id: int | None = None,
                          invoice_id: int | None = None) -> Callable[[], int]:
    """What frees a booking or an invoice from card orders its owner left unpaid on Pesapal's page."""
    return lambda: card.release_unpaid_card_orders(session=session, providers=request.app.state.providers,
                                                   booking_id=booking_id, invoice_id=invoice_id)


@router.get("/status/{booking_id}", response_model=Envelope[PaymentStatus], responses=ERROR_RESPONSES)
def get_payment_status(booking_id: int, user: CurrentUser, session: SessionDep) -> Envelope[PaymentStatus]:
    """The booking's latest payment (and refund), for its owner or an admin (compat)."""
    return Envelope(data=PaymentStatus(**service.payment_status(session=session, user=user, booking_id=booking_id)))


@router.get("", response_model=Envelope[list[PaymentRecord]], responses=ERROR_RESPONSES, include_in_schema=False)
@router.get("/", response_model=Envelope[list[PaymentRecord]], responses=ERROR_RESPONSES)
def list_payments(
    _: AdminUser,
    session: SessionDep,
    status: Literal["pending", "success", "failed", "unknown"] | None = None,
    booking_id: int | None = Query(default=None, ge=1),
) -> Envelope[list[PaymentRecord]]:
    """Payments, newest first (admin); `status=unknown`: those M-PESA never gave a final answer for."""
    rows = service.list_payments(session=session, status=status, booking_id=booking_id)
    return Envelope(data=[PaymentRecord(**r) for r in rows])


@router.post("/admin/unknown/{payment_id}/requery", response_model=Envelope[PaymentRecord], responses=UPSTREAM_ERRORS)
def requery_unknown_payment(
    payment_id: int, admin: AdminUser, session: SessionDep, request: Request
) -> Envelope[PaymentRecord]:
    """Ask the provider again now about a payment parked as `unknown` (admin): its final word settles it (a failure
    frees the booking for a new attempt); while it is still processing the payment stays `unknown`. Not unknown: 409."""
    payment = service.requery_unknown_payment(
        session=session, providers=request.app.state.providers, admin=admin, payment_id=payment_id
    )
    record = service.payment_record(payment)
    session.rollback()
    return Envelope(data=PaymentRecord(**record))


@router.get("/refunds", response_model=Envelope[list[RefundView]], responses=ERROR_RESPONSES)
def list_refunds(
    _: AdminUser,
    session: SessionDep,
    status: Literal["required", "approved", "paying", "paid", "failed"] | None = None,
) -> Envelope[list[RefundView]]:
    """Refunds, newest first (admin)."""
    return Envelope(data=[RefundView(**r) for r in service.list_refunds(session=session, status=status)])


@router.post("/refunds/{refund_id}/approve", response_model=Envelope[RefundView], responses=UPSTREAM_ERRORS)
def approve_refund(refund_id: int, admin: AdminUser, session: SessionDep, request: Request) -> Envelope[RefundView]:
    """Pay a refund back by M-PESA B2C to the phone that paid (admin); its result arrives later."""
    refund = service.approve_refund(
        session=session, providers=request.app.state.providers, admin=admin, refund_id=refund_id
    )
    return Envelope(data=RefundView(**service.refund_view(refund)))


@router.get("/unmatched", response_model=Envelope[list[UnmatchedMoney]], responses=ERROR_RESPONSES)
def list_unmatched(_: AdminUser, session: SessionDep) -> Envelope[list[UnmatchedMoney]]:
    """Money that arrived but settles no payment (admin)."""
    return Envelope(data=[UnmatchedMoney(**u) for u in service.list_unmatched(session=session)])


@router.get("/admin/attention", response_model=Envelope[list[MoneyWaiting]], responses=ERROR_RESPONSES)
def money_needing_attention(_: AdminUser, session: SessionDep) -> Envelope[list[MoneyWaiting]]:
    """Money waiting for a person (admin), every kind in a fixed order, with nothing waiting as count 0: what the
    console's Money page shows first, and what the alert rules watch (the same figures as /metrics)."""
    waiting = [MoneyWaiting(what=w.what, count=w.count, kes=w.kes, oldest_at=w.oldest_at)
               for w in money_waiting(session)]
    session.rollback()
    return Envelope(data=waiting)


@router.post("/unmatched/{unmatched_id}/refund", response_model=Envelope[RefundView], responses=UPSTREAM_ERRORS)
def refund_unmatched(
    unmatched_id: int, admin: AdminUser, session: SessionDep, request: Request
) -> Envelope[RefundView]:
    """Turn unmatched money into a refund (admin), once M-PESA confirms it was paid; then approve it as any."""
    refund = service.refund_unmatched(session=session, providers=request.app.state.providers, unmatched_id=unmatched_id,
                                      admin=admin)
    return Envelope(data=RefundView(**service.refund_view(refund)))


# --- what Daraja POSTs ----------------------------------------------------------------------------------
@router.post("/hooks/stk/{token}", response_model=CallbackAck, openapi_extra=json_body(StkCallbackRequest))
async def stk_callback(token: str, request: Request) -> JSONResponse:
    """Daraja's callback (the push's own CallBackURL): always 200, whatever arrives."""
    await process_callback(request, lambda session, raw: _stk(request, session, raw, token))
    return JSONResponse(CALLBACK_ACK)


@router.post("/mpesa/callback", response_model=CallbackAck, openapi_extra=json_body(StkCallbackRequest))
async def compat_mpesa_callback(request: Request) -> JSONResponse:
    """The old callback path (compat): processed only while MPESA_CALLBACK_TOKEN is unset."""
    if request.app.state.settings.mpesa_callback_token is None:
        await process_callback(request, lambda session, raw: _stk(request, session, raw, None))
    return JSONResponse(CALLBACK_ACK)


@router.post("/hooks/b2c/result/{token}", response_model=CallbackAck, openapi_extra=json_body(B2cResultRequest))
async def b2c_result(token: str, request: Request) -> JSONResponse:
    """The result of a refund payout (its ResultURL): always 200."""
    await process_callback(request,
                           lambda session, raw: service.process_b2c_result(session=session, raw=raw, token=token))
    return JSONResponse(CALLBACK_ACK)


@router.post("/hooks/b2c/timeout/{token}", response_model=CallbackAck, openapi_extra=json_body(B2cResultRequest))
async def b2c_queue_timeout(token: str, request: Request) -> JSONResponse:
    """A refund payout that timed out in M-PESA's queue (its QueueTimeOutURL): always 200."""
    await process_callback(request,
                           lambda session, raw: service.process_b2c_timeout(session=session, raw=raw, token=token))
    return JSONResponse(CALLBACK_ACK)


@router.post("/hooks/b2c/status/{token}", response_model=CallbackAck, openapi_extra=json_body(B2cResultRequest))
async def b2c_status(token: str, request: Request) -> JSONResponse:
    """What M-PESA's Transaction Status query found about a payout whose result never came: always 200."""
    await process_callback(request, lambda session, raw: payout_status.process_b2c_status(session=session, raw=raw,
                                                                                   token=token))
    return JSONResponse(CALLBACK_ACK)


def _stk(request: Request, session: Session, raw: bytes, token: str | None) -> None:
    state = request.app.state
    service.process_stk_callback(
        session=session, providers=state.providers, raw=raw, token=token,
        shared_token=state.settings.mpesa_callback_token,
    )


async def callback_body(request: Request) -> bytes | None:
    """A provider's POSTed body, or None when it cannot be one: unreadable, too big, or holding text no database
    stores (logged; the caller still answers as the provider expects)."""
    try:
        raw = await request.body()
    except Exception:  # noqa: BLE001 - a broken upload is still answered
        return None
    if len(raw) > MAX_CALLBACK_BYTES:
        log.warning("ignored a %d-byte callback", len(raw))
        return None
    if not _storable(request.url.path, raw):
        log.warning("ignored a callback with a NUL character or a lone surrogate (no provider sends one)")
        return None
    return raw


# Callbacks still being applied after their sender was answered (a reference keeps each task alive until it ends).
_STILL_APPLYING: set[asyncio.Future[None]] = set()


async def process_callback(request: Request, apply: Callable[[Session, bytes], None]) -> None:
    """Apply a provider's callback in a worker thread, and return once it is applied or CALLBACK_ANSWER_SECONDS have
    passed, whichever comes first: the sender is answered quickly even while applying it waits on the provider (the
    STK Push Query that confirms a success, up to DARAJA_TIMEOUT_SECONDS). Past that, the callback goes on being
    applied after the answer; if the process stops meanwhile, reconciliation settles the payment by its query."""
    raw = await callback_body(request)
    if raw is None:
        return
    factory = request.app.state.session_factory
    answer_within: float = request.app.state.settings.callback_answer_seconds

    def process() -> None:
        with factory() as session:
            apply(session, raw)

    applying = asyncio.ensure_future(run_in_threadpool(process))
    _STILL_APPLYING.add(applying)
    applying.add_done_callback(_applied)
    try:
        await asyncio.wait_for(asyncio.shield(applying), timeout=answer_within)
    except TimeoutError:
        log.warning("a callback is still being applied after %.1f s (its provider is slow to answer our check); "
                    "answered, it goes on", answer_within)
    except Exception:  # noqa: BLE001 - logged by _applied
        pass


def _applied(applying: asyncio.Future[None]) -> None:
    _STILL_APPLYING.discard(applying)
    if not applying.cancelled() and applying.exception() is not None:
        log.error("callback processing failed; reconciliation will settle it", exc_info=applying.exception())


def _storable(path: str, raw: bytes) -> bool:
    """False when the path or a JSON string of the body holds text no database stores (NUL, lone surrogate)."""
    if bad_text(path):
        return False
    if b"\\u" not in raw and b"\x00" not in raw:
        return True
    try:
        document = json.loads(raw)
    except ValueError:
        return True  # not JSON: the parser ignores it
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str) and bad_text(value):
            return False
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return True
