"""Use cases of the payments service: each owns its transaction and stages the events it causes."""

from __future__ import annotations

import json
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import case, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from jeshkit import outbox
from jeshkit.errors import BadRequest, Conflict, Forbidden, NotFound, UpstreamUnavailable
from jeshkit.peers import fetch_json
from jeshkit.security import Principal
from payments.daraja import MAX_AMOUNT, StkCallback, parse_stk_callback
from payments.models import BOOKING_STATUSES, Booking, Payment
from payments.providers import (
    PaymentProvider,
    PaymentProviders,
    ProviderError,
    ProviderUnavailable,
    Settlement,
)
from payments.result_codes import reason_for

log = logging.getLogger("payments.service")

# How long a request waits for a row another request holds before giving up.
LOCK_TIMEOUT = "3s"
LOCK_NOT_AVAILABLE = "55P03"


# --- the booking copy -------------------------------------------------------------------------------
def remember_booking(
    session: Session,
    *,
    booking_id: int,
    status: str,
    user_id: int | None = None,
    unit_id: int | None = None,
    total_price: int | None = None,
    hold_expires_at: datetime | None = None,
) -> None:
    """Upsert payments' copy of a booking; its status never moves backwards. Does not commit."""
    if status not in BOOKING_STATUSES:
        raise ValueError(f"unknown booking status {status!r}")
    statement = insert(Booking).values(
        booking_id=booking_id,
        user_id=user_id,
        unit_id=unit_id,
        total_price=total_price,
        status=status,
        hold_expires_at=hold_expires_at,
    )
    new = statement.excluded
    rank = {name: position for position, name in enumerate(BOOKING_STATUSES)}  # pending < confirmed < cancelled
    statement = statement.on_conflict_do_update(
        index_elements=[Booking.booking_id],
        set_={
            "user_id": func.coalesce(new.user_id, Booking.user_id),
            "unit_id": func.coalesce(new.unit_id, Booking.unit_id),
            "total_price": func.coalesce(new.total_price, Booking.total_price),
            "hold_expires_at": func.coalesce(new.hold_expires_at, Booking.hold_expires_at),
            "status": case(
                (case(rank, value=new.status) > case(rank, value=Booking.status), new.status),
                else_=Booking.status,
            ),
            "updated_at": func.now(),
        },
    )
    session.execute(statement)


def booking_snapshot(data: dict[str, Any], *, status: str | None = None) -> dict[str, Any]:
    """The fields remember_booking takes, from an event's or the booking service's data."""
    return {
        "booking_id": int(data["booking_id"]),
        "status": status or str(data["status"]),
        "user_id": _int_or_none(data.get("user_id")),
        "unit_id": _int_or_none(data.get("unit_id")),
        "total_price": _int_or_none(data.get("total_price")),
        "hold_expires_at": _time_or_none(data.get("hold_expires_at")),
    }


def _lock_booking(session: Session, *, http: httpx.Client, booking_url: str, booking_id: int) -> Booking:
    """The booking copy, locked; fetched from the booking service when its event has not arrived yet."""
    booking = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if booking is not None:
        return booking
    data = fetch_json(http, f"{booking_url.rstrip('/')}/internal/bookings/{booking_id}", peer="booking")
    if data is None:
        raise NotFound("Booking not found")
    try:
        snapshot = booking_snapshot(data)
        remember_booking(session, **snapshot)
    except (KeyError, TypeError, ValueError):
        log.error("the booking service answered an unusable booking %s: %r", booking_id, data)
        raise UpstreamUnavailable("The booking service is unavailable, please retry", 503) from None
    booking = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    assert booking is not None
    return booking


# --- initiate ---------------------------------------------------------------------------------------
def initiate_payment(
    *,
    session: Session,
    http: httpx.Client,
    booking_url: str,
    provider: PaymentProvider,
    user: Principal,
    booking_id: int,
    payer: str,
    amount: float | None,
    account_reference: str | None,
) -> dict[str, Any]:
    """Ask the booking's owner to pay its total_price; the payment row is written only once the provider accepted."""
    # The booking row stays locked while the provider is asked, so a second initiate for the same
    # booking waits and then sees the push in flight; if the provider refuses, nothing is written.
    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    try:
        booking = _lock_booking(session, http=http, booking_url=booking_url, booking_id=booking_id)
    except OperationalError as exc:
        if getattr(exc.orig, "pgcode", None) == LOCK_NOT_AVAILABLE:
            raise Conflict("A payment is already in progress for this booking") from None
        raise
    if booking.user_id != user.id:
        raise Forbidden("Unauthorized")
    total = booking.total_price
    if amount is not None and total is not None and Decimal(str(amount)) != total:
        raise BadRequest(
            "Amount does not match the booking total",
            [{"field": "amount", "message": f"must be the booking's total_price ({total})"}],
        )
    if booking.status != "pending" or total is None:
        raise Conflict("Booking is not pending")
    if booking.hold_expires_at is not None and booking.hold_expires_at <= datetime.now(UTC):
        raise Conflict("The booking's hold has expired")
    live = set(
        session.scalars(
            select(Payment.status).where(Payment.booking_id == booking_id, Payment.status.in_(("pending", "success")))
        )
    )
    if "success" in live:
        raise Conflict("Booking is already paid")
    if "pending" in live:
        raise Conflict("A payment is already in progress for this booking")
    if not 1 <= total <= MAX_AMOUNT:
        raise BadRequest(f"M-PESA accepts 1 to {MAX_AMOUNT:,} KES per payment; this booking totals {total:,} KES")

    reference = _account_reference(account_reference, booking_id)
    try:
        started = provider.start(amount=total, payer=payer, account_reference=reference)
    except ProviderError as exc:
        session.rollback()
        raise UpstreamUnavailable(exc.message, 502) from None

    payment = Payment(
        booking_id=booking_id,
        user_id=user.id,
        method=provider.method,
        amount=total,
        status="pending",
        phone_number=payer,
        account_reference=reference,
        merchant_request_id=started.merchant_reference,
        checkout_request_id=started.reference,
        callback_token=started.callback_token,
    )
    session.add(payment)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        log.error("push %s was accepted by the provider but could not be recorded", started.reference)
        raise Conflict("A payment is already in progress for this booking") from None
    log.info("payment %s started for booking %s (%s)", payment.id, booking_id, started.reference)
    return {"payment_id": payment.id, **started.answer}


def _account_reference(requested: str | None, booking_id: int) -> str:
    """What the payer sees on the prompt: the client's (cleaned, at most 12 characters) or JESH-<id>."""
    cleaned = re.sub(r"[^A-Za-z0-9 \-]", "", requested or "").strip()[:12].strip()
    return cleaned or f"JESH-{booking_id}"[:12]


# --- status -----------------------------------------------------------------------------------------
def payment_status(*, session: Session, user: Principal, booking_id: int) -> dict[str, Any]:
    """The latest payment of a booking, for its owner or an admin."""
    booking = session.get(Booking, booking_id)
    payment = session.scalars(
        select(Payment)
        .where(Payment.booking_id == booking_id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(1)
    ).first()
    owner = booking.user_id if booking is not None and booking.user_id is not None else None
    if owner is None and payment is not None:
        owner = payment.user_id
    if owner is not None and owner != user.id and not user.is_admin:
        raise Forbidden("Unauthorized")
    if payment is None:
        raise NotFound("Payment not found")
    return {
        "id": payment.id,
        "status": payment.status,
        "amount": payment.amount,
        "method": payment.method,
        "transaction_code": payment.receipt,
        "timestamp": payment.created_at,
        "reason": _failure_reason(payment),
    }


def _failure_reason(payment: Payment) -> str | None:
    if payment.status != "failed":
        return None
    if payment.result_code is None:
        return "The payment failed"
    return reason_for(payment.result_code, payment.result_desc)


# --- callbacks --------------------------------------------------------------------------------------
def process_stk_callback(*, session: Session, providers: PaymentProviders, raw: bytes, token: str | None) -> None:
    """Apply a Daraja callback, trusting a success only once the amount matches and STK Push Query agrees.

    `token` is the CallBackURL's secret segment (None on the compat path); it must be the payment's own.
    """
    try:
        callback = parse_stk_callback(json.loads(raw))
    except (ValueError, RecursionError):
        callback = None
    if callback is None:
        log.warning("ignored a callback that is not an stkCallback (%d bytes)", len(raw))
        return
    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    payment = session.scalars(
        select(Payment).where(Payment.checkout_request_id == callback.checkout_request_id).with_for_update()
    ).first()
    if payment is None:
        log.warning("ignored a callback for an unknown CheckoutRequestID %r", callback.checkout_request_id)
        return
    if token is not None and not (payment.callback_token and secrets.compare_digest(token, payment.callback_token)):
        log.warning("ignored a callback for payment %s with a wrong token", payment.id)
        return
    now = datetime.now(UTC)
    payment.callbacks_received += 1
    payment.last_callback_at = now

    if callback.result_code == 0:
        problem = _untrustworthy_success(session, payment, callback)
        if problem:
            _flag(payment, problem)
            session.commit()
            return
        if payment.status == "success":  # a repeat: at most it brings the receipt a query could not
            if payment.receipt is None and callback.receipt:
                payment.receipt = callback.receipt
            session.commit()
            return
    elif payment.status == "success":
        _flag(payment, f"a callback reported {callback.result_code} ({callback.result_desc}) after confirmation")
        session.commit()
        return
    elif payment.status == "failed":
        session.commit()
        return

    try:
        settlement = providers.get(payment.method).check(reference=callback.checkout_request_id)
    except ProviderError as exc:
        log.warning("cannot confirm the callback of payment %s now: %s", payment.id, exc.message)
        settlement = None
    if settlement is None:
        if callback.result_code == 0:
            # Unconfirmed: stay pending; reconciliation asks again.
            log.info("success callback of payment %s not confirmed by Daraja yet", payment.id)
            payment.next_check_at = now
            session.commit()
            return
        settlement = Settlement(callback.result_code, callback.result_desc)  # a failure confirms nothing
    elif settlement.result_code != callback.result_code:
        _flag(
            payment,
            f"a callback said {callback.result_code} but Daraja's query says {settlement.result_code}",
        )
    trusted = settlement.succeeded and callback.result_code == 0
    _settle(
        session,
        payment,
        settlement,
        receipt=callback.receipt if trusted else None,
        paid_at=callback.transaction_date if trusted else None,
    )
    session.commit()


def _untrustworthy_success(session: Session, payment: Payment, callback: StkCallback) -> str | None:
    """Why a success callback cannot be believed (wrong amount, reused receipt), or None."""
    if callback.amount is None:
        return "a success callback came without an Amount"
    if callback.amount != Decimal(payment.amount):
        return f"a success callback claimed {callback.amount} KES but {payment.amount} KES was charged"
    if callback.receipt:
        owner = session.scalar(
            select(Payment.id).where(Payment.receipt == callback.receipt, Payment.id != payment.id)
        )
        if owner is not None:
            return f"a success callback carried receipt {callback.receipt} of payment {owner}"
    return None


# --- reconciliation ---------------------------------------------------------------------------------
def reconcile_pending_payments(
    *,
    session_factory: sessionmaker[Session],
    providers: PaymentProviders,
    settle_after_seconds: float,
    retry_after_seconds: float,
    batch_size: int,
) -> int:
    """Settle payments pending longer than settle_after_seconds by asking their provider (callbacks get lost)."""
    settled = 0
    for _ in range(batch_size):
        with session_factory() as session:
            payment = session.scalars(
                select(Payment)
                .where(
                    Payment.status == "pending",
                    Payment.created_at <= func.now() - timedelta(seconds=settle_after_seconds),
                    or_(Payment.next_check_at.is_(None), Payment.next_check_at <= func.now()),
                )
                .order_by(Payment.next_check_at.asc().nulls_first(), Payment.id)
                .limit(1)
                .with_for_update(skip_locked=True)  # replicas share the work, never the same row
            ).first()
            if payment is None:
                break
            payment.check_attempts += 1
            backoff = min(retry_after_seconds * 2 ** min(payment.check_attempts - 1, 10), 600.0)
            payment.next_check_at = datetime.now(UTC) + timedelta(seconds=backoff)
            reference = payment.checkout_request_id or ""
            try:
                settlement = providers.get(payment.method).check(reference=reference)
            except ProviderUnavailable as exc:
                log.warning("reconciliation paused, provider unavailable: %s", exc.message)
                session.commit()
                break
            except ProviderError as exc:
                log.warning("cannot settle payment %s yet: %s", payment.id, exc.message)
                settlement = None
            if settlement is not None:
                _settle(session, payment, settlement)
                settled += 1
            session.commit()
    return settled


# --- settling ---------------------------------------------------------------------------------------
def _settle(
    session: Session,
    payment: Payment,
    settlement: Settlement,
    *,
    receipt: str | None = None,
    paid_at: datetime | None = None,
) -> None:
    """Record the provider's final word and stage its event; a confirmed success is never downgraded."""
    now = datetime.now(UTC)
    if settlement.succeeded:
        if payment.status == "success":
            if payment.receipt is None and receipt:
                payment.receipt = receipt
            return
        payment.status = "success"
        payment.result_code = 0
        payment.result_desc = settlement.result_desc
        payment.receipt = payment.receipt or receipt
        payment.paid_at = paid_at or now
        payment.settled_at = now
        payment.next_check_at = None
        outbox.stage(
            session,
            "PaymentSucceeded",
            {
                "payment_id": payment.id,
                "booking_id": payment.booking_id,
                "user_id": payment.user_id,
                "amount": payment.amount,
                "method": payment.method,
                "receipt": payment.receipt,
                "checkout_request_id": payment.checkout_request_id,
                "paid_at": payment.paid_at.isoformat(),
            },
        )
        log.info("payment %s of booking %s succeeded", payment.id, payment.booking_id)
        return
    if payment.status == "success":
        _flag(payment, f"Daraja reported {settlement.result_code} ({settlement.result_desc}) after confirmation")
        return
    if payment.status == "failed":
        return
    reason = reason_for(settlement.result_code, settlement.result_desc)
    payment.status = "failed"
    payment.result_code = settlement.result_code
    payment.result_desc = settlement.result_desc
    payment.settled_at = now
    payment.next_check_at = None
    outbox.stage(
        session,
        "PaymentFailed",
        {
            "payment_id": payment.id,
            "booking_id": payment.booking_id,
            "user_id": payment.user_id,
            "amount": payment.amount,
            "method": payment.method,
            "result_code": settlement.result_code,
            "reason": reason,
            "checkout_request_id": payment.checkout_request_id,
        },
    )
    log.info("payment %s of booking %s failed: %s", payment.id, payment.booking_id, reason)


def _flag(payment: Payment, note: str) -> None:
    """Keep a disagreement for a human to look at (never acted upon automatically)."""
    log.warning("payment %s: %s", payment.id, note)
    stamped = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {note}"
    payment.discrepancy = (f"{payment.discrepancy}; {stamped}" if payment.discrepancy else stamped)[-4000:]


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    return int(value)


def _time_or_none(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
