"""Thin HTTP routes of the Paybill (M-PESA C2B): what customers see, the operators' routes, what M-PESA POSTs."""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.datastructures import State

from jeshkit import audit
from jeshkit.db import SessionDep
from jeshkit.errors import BadRequest, Conflict, NotFound, UpstreamUnavailable
from jeshkit.openapi import json_body
from jeshkit.peers import Peer
from jeshkit.schemas import ERROR_RESPONSES, Envelope
from jeshkit.security import AdminUser
from payments.api import UPSTREAM_ERRORS, callback_body, process_callback
from payments.daraja_wire import normalize_phone
from payments.models import Payment
from payments.providers import ProviderError
from payments.schemas import (
    AssignUnmatched,
    B2cResultRequest,
    C2bAnswer,
    C2bRequest,
    CallbackAck,
    ClaimPaybill,
    PaybillInfo,
    PaybillPaymentView,
    PaybillPullView,
    PaybillRegistered,
    PaymentRecord,
    RegisterPull,
)
from payments.service import paybill, paybill_ops, paybill_pull, payment_record

log = logging.getLogger("payments.api")

paybill_router = APIRouter(prefix="/api/payments", tags=["payments"])
C2B_ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}


def peers_of(state: State) -> paybill.Peers:
    """booking and billing, as the Paybill's use cases ask them (no transaction open)."""
    settings, http = state.settings, state.http
    return paybill.Peers(booking=Peer("booking", settings.booking_url, http),
                         billing=Peer("billing", settings.billing_url, http) if settings.billing_url else None)


@paybill_router.get("/paybill", response_model=Envelope[PaybillInfo], responses=ERROR_RESPONSES)
def paybill_info(request: Request) -> Envelope[PaybillInfo]:
    """Whether customers can pay from their phone's M-PESA menu, and the business number (anyone may read it). The
    account number is the booking's `JESH-<id>` or the invoice's number."""
    number = request.app.state.settings.paybill
    return Envelope(data=PaybillInfo(enabled=number is not None, business_number=number))


@paybill_router.post("/paybill/register", response_model=Envelope[PaybillRegistered], responses=UPSTREAM_ERRORS,
                     summary="Register the Paybill's URLs with M-PESA (admin)")
def register_paybill(admin: AdminUser, session: SessionDep, request: Request) -> Envelope[PaybillRegistered]:
    """Tell M-PESA where to send the Paybill's validation and confirmation requests (C2B Register URL). Once per
    paybill in production (Safaricom refuses a second registration until the first is deleted on its portal)."""
    state = request.app.state
    if state.settings.paybill is None:
        raise Conflict("The Paybill is off: set MPESA_C2B_TOKEN")
    try:
        registered = paybill.mpesa_of(state.providers).register_paybill()  # no transaction open
    except ProviderError as exc:
        raise UpstreamUnavailable(f"M-PESA did not register the Paybill: {exc.message}", 502) from None
    audit.record(session, admin, "paybill.registered", f"paybill:{registered['business_number']}",
                 {"response_type": registered["response_type"]})
    session.commit()
    return Envelope(data=PaybillRegistered(**registered))


@paybill_router.get("/paybill/payments", response_model=Envelope[list[PaybillPaymentView]],
                    responses=ERROR_RESPONSES, summary="Money customers sent to the Paybill (admin)")
def list_paybill_payments(_: AdminUser, session: SessionDep) -> Envelope[list[PaybillPaymentView]]:
    """The latest 200, newest first, each with what became of it."""
    return Envelope(data=[PaybillPaymentView(**row) for row in paybill_ops.listing(session=session)])


@paybill_router.post("/unmatched/{unmatched_id}/assign", response_model=Envelope[PaymentRecord],
                     responses=ERROR_RESPONSES, summary="Put unmatched Paybill money on the right account (admin)")
def assign_unmatched(unmatched_id: int, body: AssignUnmatched, admin: AdminUser, session: SessionDep,
                     request: Request) -> Envelope[PaymentRecord]:
    """For Paybill money whose account number named nothing (a typing slip): it becomes a payment of the booking or
    invoice named now, exactly as if typed right. 409 when that account cannot take it (a booking's price differs)."""
    payment_id = paybill_ops.assign(session=session, peers=peers_of(request.app.state), unmatched_id=unmatched_id,
                                typed=body.account, admin=admin)
    payment = session.get(Payment, payment_id)
    assert payment is not None
    return Envelope(data=PaymentRecord(**payment_record(payment)))


@paybill_router.post("/paybill/claims", response_model=Envelope[PaybillPaymentView], status_code=202,
                     responses=ERROR_RESPONSES, summary="Claim a Paybill payment by its M-PESA receipt (admin)")
def claim_paybill_payment(body: ClaimPaybill, admin: AdminUser, session: SessionDep,
                          request: Request) -> Envelope[PaybillPaymentView]:
    """A customer paid the Paybill but nothing came (M-PESA's confirmation was lost): the receipt from their SMS and
    the account it was for. It is checked with Transaction Status like any other (which tells its amount) and then
    credited, or rejected when M-PESA does not know it; 202 while that happens (follow it in
    `/paybill/payments`); 409 when the receipt is known already."""
    state = request.app.state
    if state.settings.paybill is None:
        raise Conflict("The Paybill is off: set MPESA_C2B_TOKEN")
    row_id, token = paybill_ops.claim(session=session, receipt=body.receipt, typed=body.account,
                                      paybill=state.settings.paybill, admin=admin)
    paybill.ask_status(state.providers, body.receipt, token)  # committed: no transaction open
    [row] = paybill_ops.listing(session=session, paybill_id=row_id)
    return Envelope(data=PaybillPaymentView(**row))


@paybill_router.post("/paybill/pull", response_model=Envelope[PaybillPullView], responses=UPSTREAM_ERRORS,
                     summary="Register the Paybill for Pull Transactions (admin)")
def register_pull(body: RegisterPull, admin: AdminUser, session: SessionDep,
                  request: Request) -> Envelope[PaybillPullView]:
    """Once per paybill (registering again is harmless): from then on a job lists the Paybill's payments every
    `PAYBILL_PULL_INTERVAL_SECONDS` and takes any whose confirmation never came, checked by Transaction Status like
    the others. The first pull looks back 47 hours. Audited."""
    state = request.app.state
    if state.settings.paybill is None:
        raise Conflict("The Paybill is off: set MPESA_C2B_TOKEN")
    nominated = normalize_phone(body.nominated_number)
    if nominated is None:
        raise BadRequest("nominated_number must be a Safaricom number: 07XXXXXXXX, 01XXXXXXXX or 2547XXXXXXXX")
    try:
        registered = paybill_pull.register(session=session, providers=state.providers, admin=admin,
                                           paybill=state.settings.paybill, nominated_number=nominated)
    except ProviderError as exc:
        raise UpstreamUnavailable(f"M-PESA did not register the Paybill for Pull Transactions: {exc.message}",
                                  502) from None
    return Envelope(data=PaybillPullView(**registered))


@paybill_router.get("/paybill/pull", response_model=Envelope[PaybillPullView], responses=ERROR_RESPONSES,
                    summary="The Paybill's Pull Transactions and its last pull (admin)")
def pull_state(_: AdminUser, session: SessionDep, request: Request) -> Envelope[PaybillPullView]:
    """404 when the Paybill is not registered for Pull Transactions."""
    paybill_number = request.app.state.settings.paybill
    found = paybill_pull.state(session=session, paybill=paybill_number) if paybill_number else None
    if found is None:
        raise NotFound("The Paybill is not registered for Pull Transactions")
    return Envelope(data=PaybillPullView(**found))


# --- what M-PESA POSTs -----------------------------------------------------------------------------------------
@paybill_router.post("/hooks/paybill/validation/{token}", response_model=C2bAnswer,
                     openapi_extra=json_body(C2bRequest))
async def paybill_validation(token: str, request: Request) -> JSONResponse:
    """M-PESA asks whether to take a Paybill payment (only when external validation is on for the paybill)."""
    state = request.app.state
    raw = await callback_body(request)
    if raw is None or not _ours(request, token):
        return JSONResponse(C2bAnswer(ResultCode=paybill.OTHER_ERROR, ResultDesc="Rejected").model_dump())

    def check() -> dict[str, str]:
        with state.session_factory() as session:
            return paybill.validate(session=session, peers=peers_of(state), raw=raw, paybill=state.settings.paybill)

    try:
        return JSONResponse(await run_in_threadpool(check))
    except Exception:
        log.exception("Paybill validation failed; the payment is accepted and settled later")
        return JSONResponse(paybill.ACCEPTED)


@paybill_router.post("/hooks/paybill/confirmation/{token}", response_model=CallbackAck,
                     openapi_extra=json_body(C2bRequest))
async def paybill_confirmation(token: str, request: Request) -> JSONResponse:
    """M-PESA says a Paybill payment was made: kept, then checked with Transaction Status before it counts."""
    state = request.app.state
    raw = await callback_body(request)
    if raw is None or not _ours(request, token):
        return JSONResponse(C2B_ACK)

    def keep_and_ask() -> None:
        with state.session_factory() as session:
            asked = paybill.record_confirmation(session=session, raw=raw, paybill=state.settings.paybill)
        if asked is not None:
            paybill.ask_status(state.providers, *asked)  # after the commit: no transaction open

    try:
        await run_in_threadpool(keep_and_ask)
    except Exception:
        log.exception("Paybill confirmation processing failed")
        return JSONResponse({"ResultCode": 1, "ResultDesc": "Try again"}, status_code=500)
    return JSONResponse(C2B_ACK)


@paybill_router.post("/hooks/paybill/status/{token}", response_model=CallbackAck,
                     openapi_extra=json_body(B2cResultRequest))
async def paybill_status(token: str, request: Request) -> JSONResponse:
    """What Transaction Status says of a Paybill payment: verified ones are credited at once. Always 200."""
    peers = peers_of(request.app.state)

    def verify_and_apply(session: Session, raw: bytes) -> None:
        verified = paybill.process_status(session=session, raw=raw, token=token)
        if verified is not None:  # the money job credits it if this fails
            paybill.apply(session=session, peers=peers, row_id=verified)

    await process_callback(request, verify_and_apply)
    return JSONResponse(C2B_ACK)


@paybill_router.post("/hooks/paybill/notices/{token}", response_model=CallbackAck)
async def paybill_notices(token: str, request: Request) -> JSONResponse:
    """Pull Transactions' CallBackURL: whatever M-PESA says there is logged, never acted upon (the job pulls)."""
    raw = await callback_body(request)
    if raw is not None and _ours(request, token):
        log.info("M-PESA Pull Transactions notice (%d bytes)", len(raw))
    return JSONResponse(C2B_ACK)


def _ours(request: Request, token: str) -> bool:
    settings = request.app.state.settings
    if settings.paybill is None or not secrets.compare_digest(token.encode(), settings.mpesa_c2b_token.encode()):
        log.warning("ignored a Paybill request at an unknown URL")
        return False
    return True

