"""Recording a provider's final word on a payment, and the events it causes (shared by callbacks and
reconciliation)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jeshkit import outbox
from jeshkit.metrics import PAYMENTS
from payments.models import PaybillPayment, PaybillPull, Payment, Refund
from payments.providers import Settlement
from payments.result_codes import reason_for

log = logging.getLogger("payments.service")

# How long a request waits for a row another request holds before giving up.
LOCK_TIMEOUT = "3s"
LOCK_NOT_AVAILABLE = "55P03"
SET_LOCK_TIMEOUT = text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")


Leased = TypeVar("Leased", Payment, Refund, PaybillPayment, PaybillPull)


def lease_next(session: Session, model: type[Leased], *conditions: Any, idle: timedelta,
               order_by: Any = None) -> Leased | None:
    """The next row of `model` meeting `conditions` that nobody has touched for `idle` (oldest first, or by
    `order_by`), locked with SKIP LOCKED so that each replica claims its own, and leased: its updated_at is now, so
    after the caller's commit every replica skips it for `idle` while the caller asks a provider outside the
    transaction."""
    now = datetime.now(UTC)
    row = session.scalars(
        select(model)
        .where(*conditions, model.updated_at < now - idle)
        .order_by(model.updated_at if order_by is None else order_by)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if row is not None:
        row.updated_at = now
    return row


def lock_payment(session: Session, payment_id: int) -> Payment | None:
    return session.scalars(
        select(Payment).where(Payment.id == payment_id).with_for_update().execution_options(populate_existing=True)
    ).first()


def settle(
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
        wrong = _wrong_money(payment, settlement)
        if wrong:
            flag(payment, wrong)  # never confirmed: a human looks at it
            return
        receipt = receipt or settlement.receipt
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
        succeeded(
            session, payment_id=payment.id, booking_id=payment.booking_id, invoice_id=payment.invoice_id,
            user_id=payment.user_id, amount=payment.amount, method=payment.method, receipt=payment.receipt,
            checkout_request_id=payment.checkout_request_id, paid_at=payment.paid_at,
        )
        return
    if payment.status == "success":
        flag(payment, f"Daraja reported {settlement.result_code} ({settlement.result_desc}) after confirmation")
        return
    if payment.status == "failed":
        return
    fail(session, payment, settlement.result_code, settlement.result_desc, reason=settlement.reason)


def succeeded(
    session: Session, *, payment_id: int, booking_id: int, invoice_id: int | None, user_id: int, amount: int,
    method: str, receipt: str | None, checkout_request_id: str | None, paid_at: datetime,
) -> None:
    """Stage PaymentSucceeded for a payment just marked paid (in the same transaction)."""
    outbox.stage(
        session,
        "PaymentSucceeded",
        {
            "payment_id": payment_id,
            "booking_id": booking_id,
            "invoice_id": invoice_id,
            "user_id": user_id,
            "amount": amount,
            "method": method,
            "receipt": receipt,
            "checkout_request_id": checkout_request_id,
            "paid_at": paid_at.isoformat(),
        },
    )
    PAYMENTS.labels(method, "succeeded").inc()
    log.info("payment %s of booking %s succeeded", payment_id, booking_id)


def _wrong_money(payment: Payment, settlement: Settlement) -> str | None:
    """Why a reported success does not pay this payment (another amount or currency), or None."""
    if settlement.amount is not None and settlement.amount != payment.amount:
        return f"the provider reports {settlement.amount} paid but {payment.amount} KES was charged"
    if settlement.currency is not None and settlement.currency.upper() != "KES":
        return f"the provider reports a payment in {settlement.currency}, not KES"
    return None


def fail(session: Session, payment: Payment, result_code: int, result_desc: str, *, reason: str | None = None) -> None:
    """Mark an unsettled payment failed (nobody was charged) and stage PaymentFailed."""
    reason = reason or reason_for(result_code, result_desc)
    payment.status = "failed"
    payment.result_code = result_code
    payment.result_desc = result_desc
    payment.settled_at = datetime.now(UTC)
    payment.next_check_at = None
    outbox.stage(
        session,
        "PaymentFailed",
        {
            "payment_id": payment.id,
            "booking_id": payment.booking_id,
            "invoice_id": payment.invoice_id,
            "user_id": payment.user_id,
            "amount": payment.amount,
            "method": payment.method,
            "result_code": result_code,
            "reason": reason,
            "checkout_request_id": payment.checkout_request_id,
        },
    )
    PAYMENTS.labels(payment.method, "failed").inc()
    log.info("payment %s of booking %s failed: %s", payment.id, payment.booking_id, reason)


def flag(payment: Payment, note: str) -> None:
    """Keep a disagreement for a human to look at (never acted upon automatically)."""
    log.warning("payment %s: %s", payment.id, note)
    stamped = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {note}"
    payment.discrepancy = (f"{payment.discrepancy}; {stamped}" if payment.discrepancy else stamped)[-4000:]
