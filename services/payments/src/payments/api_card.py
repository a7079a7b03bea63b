"""Thin HTTP routes of card and Airtel Money payments (Pesapal): initiate, the IPN hook, the browser's return."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select

from jeshkit.db import SessionDep
from jeshkit.errors import BadRequest, NotFound
from jeshkit.openapi import json_body
from jeshkit.schemas import ERROR_RESPONSES, Envelope
from jeshkit.security import CurrentUser
from payments.api import MAX_CALLBACK_BYTES, UPSTREAM_ERRORS, card_orders_releaser
from payments.models import Payment
from payments.schemas import (
    CardPaymentReturn,
    CardPaymentStarted,
    InitiateCardPayment,
    PesapalAck,
    PesapalNotification,
)
from payments.service import card

log = logging.getLogger("payments.api")

card_router = APIRouter(prefix="/api/payments", tags=["payments"])


@card_router.post("/card/initiate", response_model=Envelope[CardPaymentStarted], responses=UPSTREAM_ERRORS)
def initiate_card_payment(
    body: InitiateCardPayment, user: CurrentUser, session: SessionDep, request: Request
) -> Envelope[CardPaymentStarted]:
    """A Pesapal order for a booking's total_price or an invoice's balance; the customer pays by card or Airtel
    Money at `redirect_url`. The outcome arrives by Pesapal's IPN and counts only once GetTransactionStatus says so."""
    if (body.booking_id is None) == (body.invoice_id is None):
        field = "booking_id" if body.booking_id is None else "invoice_id"
        raise BadRequest("Give either booking_id or invoice_id", [{"field": field, "message": "give exactly one"}])
    state = request.app.state
    customer = card.customer_of(state.http, auth_url=state.settings.auth_base_url,
                                authorization=request.headers.get("authorization", ""))
    started = card.initiate_card_payment(
        session=session, http=state.http, provider=state.providers.get("card"), customer=customer, user=user,
        booking_id=body.booking_id, invoice_id=body.invoice_id, booking_url=state.settings.booking_url,
        billing_url=state.settings.billing_url, min_hold_seconds=state.settings.min_hold_seconds,
        release_card_orders=card_orders_releaser(request, session, booking_id=body.booking_id,
                                                 invoice_id=body.invoice_id),
    )
    return Envelope(data=CardPaymentStarted(**started))


@card_router.get("/hooks/pesapal/{token}", response_model=PesapalAck, operation_id="pesapal_ipn_get")
@card_router.post("/hooks/pesapal/{token}", response_model=PesapalAck, operation_id="pesapal_ipn_post",
                  openapi_extra=json_body(PesapalNotification))
async def pesapal_ipn(  # the notification's parameters are declared for the document; _notification reads them
    token: str,
    request: Request,
    OrderTrackingId: str | None = None,
    OrderMerchantReference: str | None = None,
    OrderNotificationType: str | None = None,
) -> JSONResponse:
    """Pesapal's IPN (query string on GET, JSON or a form on POST): always 200 with the acknowledgement it expects.
    A wrong token changes nothing; the outcome is only ever taken from GetTransactionStatus."""
    notice = await _notification(request)
    tracking = notice.get("OrderTrackingId", "")
    ack = {"orderNotificationType": notice.get("OrderNotificationType") or "IPNCHANGE", "orderTrackingId": tracking,
           "orderMerchantReference": notice.get("OrderMerchantReference", ""), "status": 200}
    expected = request.app.state.settings.pesapal_ipn_token.encode()
    if not secrets.compare_digest(token.encode("utf-8", "replace"), expected):
        log.warning("ignored a Pesapal IPN with a wrong token")
        return JSONResponse(ack)
    if tracking and await run_in_threadpool(_apply, request, notice) is None:
        ack["status"] = 500  # not processed: Pesapal may send it again (reconciliation settles it anyway)
    return JSONResponse(ack)


@card_router.get("/card/return", response_model=Envelope[CardPaymentReturn], responses=ERROR_RESPONSES)
def card_return(
    request: Request,
    session: SessionDep,
    OrderTrackingId: str = Query(min_length=1, max_length=200),
    OrderMerchantReference: str | None = Query(default=None, max_length=200),
    OrderNotificationType: str | None = Query(default=None, max_length=50),
) -> Envelope[CardPaymentReturn]:
    """Where Pesapal sends the customer's browser back (`callback_url`): Pesapal is asked at once, and the payment's
    state is answered (unless PESAPAL_CALLBACK_URL sends the browser to the frontend instead)."""
    tracking = _storable(OrderTrackingId)
    if tracking is None:
        raise NotFound("Payment not found")
    notice = {"OrderTrackingId": tracking, "OrderMerchantReference": _storable(OrderMerchantReference) or ""}
    state = _apply(request, notice)
    if not state:
        payment = session.scalars(select(Payment).where(Payment.checkout_request_id == tracking,
                                                        Payment.method == "card")).first()
        if payment is None:
            raise NotFound("Payment not found")
        state = {"payment_id": payment.id, "booking_id": payment.booking_id, "invoice_id": payment.invoice_id,
                 "status": "pending" if payment.status == "unknown" else payment.status}
    return Envelope(data=CardPaymentReturn(**state))


def _apply(request: Request, notice: dict[str, str]) -> dict[str, Any] | None:
    """Ask Pesapal about the order and apply the answer, in a session of its own (blocking: run off the loop)."""
    state = request.app.state
    try:
        with state.session_factory() as session:
            return card.process_pesapal_notification(
                session=session, provider=state.providers.get("card"),
                order_tracking_id=notice["OrderTrackingId"][:100],
                merchant_reference=notice.get("OrderMerchantReference"),
            )
    except Exception:
        log.exception("Pesapal notification processing failed; reconciliation will settle it")
        return None


async def _notification(request: Request) -> dict[str, str]:
    """OrderTrackingId, OrderMerchantReference, OrderNotificationType from the query string or the body."""
    found = {k: v for k, v in request.query_params.items()}
    if request.method == "POST":
        try:
            raw = await request.body()
        except Exception:  # noqa: BLE001 - a broken upload is still acknowledged
            raw = b""
        if len(raw) <= MAX_CALLBACK_BYTES and raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
            if isinstance(body, dict):
                found.update({k: v for k, v in body.items() if isinstance(v, str)})
    keys = ("OrderTrackingId", "OrderMerchantReference", "OrderNotificationType")
    lowered = {k.lower(): _storable(v) for k, v in found.items()}
    return {key: value for key in keys if (value := lowered.get(key.lower()))}


def _storable(value: str | None) -> str | None:
    """The value, unless PostgreSQL could not take it (NUL, a lone surrogate): such a thing names no order."""
    if not value or "\x00" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value
