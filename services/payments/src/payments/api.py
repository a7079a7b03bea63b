"""Thin HTTP routes of the payments service."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from jeshkit.db import SessionDep
from jeshkit.errors import BadRequest
from jeshkit.openapi import json_body
from jeshkit.schemas import ERROR_RESPONSES, Envelope, ErrorEnvelope
from jeshkit.security import CurrentUser
from payments import service
from payments.daraja import normalize_phone
from payments.schemas import (
    CallbackAck,
    InitiateMpesaPayment,
    MpesaPaymentStarted,
    PaymentStatus,
    StkCallbackRequest,
)

log = logging.getLogger("payments.api")

router = APIRouter(prefix="/api/payments", tags=["payments"])

UPSTREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    502: {"model": ErrorEnvelope, "description": "M-PESA refused the request or is unavailable"},
}
# A Daraja callback is a few hundred bytes; anything much bigger is not one.
MAX_CALLBACK_BYTES = 64 * 1024
CALLBACK_ACK = {"ResultCode": 0, "ResultDesc": "Success"}


@router.post("/mpesa/initiate", response_model=Envelope[MpesaPaymentStarted], responses=UPSTREAM_ERRORS)
def initiate_mpesa_payment(
    body: InitiateMpesaPayment, user: CurrentUser, session: SessionDep, request: Request
) -> Envelope[MpesaPaymentStarted]:
    """Send an M-PESA prompt for the booking's total_price to the owner's phone (compat)."""
    payer = normalize_phone(body.phone_number)
    if payer is None:
        raise BadRequest(
            "Invalid phone number",
            [{"field": "phone_number", "message": "must be a Kenyan mobile number such as 0712345678"}],
        )
    started = service.initiate_payment(
        session=session,
        http=request.app.state.http,
        booking_url=request.app.state.settings.booking_url,
        provider=request.app.state.providers.get("mpesa"),
        user=user,
        booking_id=body.booking_id,
        payer=payer,
        amount=body.amount,
        account_reference=body.account_reference,
    )
    return Envelope(data=MpesaPaymentStarted(**started))


@router.post("/hooks/stk/{token}", response_model=CallbackAck, openapi_extra=json_body(StkCallbackRequest))
async def stk_callback(token: str, request: Request) -> JSONResponse:
    """Daraja's callback (the CallBackURL we give it): always 200, whatever arrives."""
    await _process_callback(request, token)
    return JSONResponse(CALLBACK_ACK)


@router.post("/mpesa/callback", response_model=CallbackAck, openapi_extra=json_body(StkCallbackRequest))
async def compat_mpesa_callback(request: Request) -> JSONResponse:
    """The old callback path (compat): processed only while MPESA_CALLBACK_TOKEN is unset."""
    if request.app.state.settings.mpesa_callback_token is None:
        await _process_callback(request, None)
    return JSONResponse(CALLBACK_ACK)


@router.get("/status/{booking_id}", response_model=Envelope[PaymentStatus], responses=ERROR_RESPONSES)
def get_payment_status(booking_id: int, user: CurrentUser, session: SessionDep) -> Envelope[PaymentStatus]:
    """The booking's latest payment, for its owner or an admin (compat)."""
    return Envelope(data=PaymentStatus(**service.payment_status(session=session, user=user, booking_id=booking_id)))


async def _process_callback(request: Request, token: str | None) -> None:
    try:
        raw = await request.body()
    except Exception:  # noqa: BLE001 - a broken upload is still answered 200
        return
    if len(raw) > MAX_CALLBACK_BYTES:
        log.warning("ignored a %d-byte callback", len(raw))
        return
    app = request.app

    def process() -> None:
        with app.state.session_factory() as session:
            service.process_stk_callback(session=session, providers=app.state.providers, raw=raw, token=token)

    try:
        await run_in_threadpool(process)
    except Exception:
        log.exception("callback processing failed; reconciliation will settle the payment")
