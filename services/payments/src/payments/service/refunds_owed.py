"""Refunds owed: raised by a cancellation of a paid booking, by money that could no longer buy its dates
(RefundRequired) or by a rental's credit billing owes back (CreditRefundRequired); each waits, `required`, for an
admin's approval (refunds.approve_refund). Run in the consumer's transaction: nothing here calls a provider."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from jeshkit.clock import nairobi_today
from payments.models import Payment, Refund, Unmatched

log = logging.getLogger("payments.service")


def raise_refund(
    session: Session, payment: Payment, *, amount: int, reason: str, unmatched_id: int | None = None
) -> bool:
    """Owe `amount` of a successful payment back to its payer (once per payment). Does not commit."""
    if amount <= 0:
        return False
    created = session.execute(
        insert(Refund)
        .values(
            booking_id=payment.booking_id,
            invoice_id=payment.invoice_id,
            user_id=payment.user_id,
            payment_id=payment.id,
            unmatched_id=unmatched_id,
            amount=amount,
            reason=reason,
            status="required",
            method=payment.method,
            phone_number=payment.phone_number,
        )
        .on_conflict_do_nothing()
        .returning(Refund.id)
    ).first()
    if created is not None:
        log.warning("refund %s required: payment %s, %s KES (%s)", created[0], payment.id, amount, reason)
    return created is not None


def on_booking_cancelled(
    session: Session, *, booking_id: int, reason: str, start_date: date, cancelled_at: datetime, fee: int
) -> None:
    """A paid booking cancelled by its owner before it starts (less the fee) or by an admin (in full)."""
    if reason not in ("user", "admin"):
        return  # an expired hold was never paid; money arriving later is booking's RefundRequired
    paid = session.scalars(
        select(Payment).where(
            Payment.booking_id == booking_id, Payment.invoice_id.is_(None), Payment.status == "success"
        )
    ).all()
    for payment in paid:
        if reason == "admin":
            raise_refund(session, payment, amount=payment.amount, reason="cancelled by an admin")
        elif nairobi_today(cancelled_at) < start_date:  # before the start, in Kenyan dates
            raise_refund(
                session, payment, amount=payment.amount - fee, reason="cancelled by the customer before the start"
            )
        else:
            log.info("booking %s cancelled by its owner on or after its start: no refund", booking_id)


def on_refund_required(session: Session, *, payment_id: int, amount: int, reason: str) -> None:
    """Booking could not use a payment (dates taken, booking cancelled first, paid twice): refund it in full
    and list the money as unmatched. Cancellations of paid bookings come through BookingCancelled instead."""
    if reason == "cancelled_after_payment":
        return
    payment = session.get(Payment, payment_id)
    if payment is None or payment.status != "success":
        log.error("RefundRequired for payment %s, which payments has not seen succeed", payment_id)
        return
    unmatched_id = session.execute(
        insert(Unmatched)
        .values(
            source="booking_unavailable", reference=payment.checkout_request_id, amount=payment.amount,
            phone_number=payment.phone_number, result_code=0, payment_id=payment.id, booking_id=payment.booking_id,
            reason=f"the booking could not take this payment ({reason})",
        )
        .returning(Unmatched.id)
    ).scalar_one()
    full = min(amount, payment.amount) or payment.amount
    if raise_refund(session, payment, amount=full, reason=reason, unmatched_id=unmatched_id):
        return
    # The payment has its refund already: one the cancellation rule raised (BookingCancelled applied after the
    # payment succeeded, less the fee) while booking, which saw the money come after the cancellation, says none of
    # it could be used. Booking decides: all of it goes back, and the money listed here is that refund's.
    refund = session.scalars(select(Refund).where(Refund.payment_id == payment.id).with_for_update()).first()
    if refund is None:
        return
    refund.unmatched_id = refund.unmatched_id or unmatched_id
    if refund.amount < full and refund.status in ("required", "failed"):
        log.warning("refund %s of payment %s: %s KES, not %s (%s)", refund.id, payment.id, full, refund.amount, reason)
        refund.amount, refund.reason = full, reason
    elif refund.amount < full:
        log.error("refund %s of payment %s is %s already with %s KES; booking says %s are owed (%s)", refund.id,
                  payment.id, refund.status, refund.amount, full, reason)


# The payment a rental's credit goes back through: the booking's latest M-PESA payment with a phone (B2C to it),
# else its latest card payment of an invoice with no refund yet and at least that much (Pesapal refunds one request
# per payment, never more than was collected; the booking's own payment keeps its one for the cancellation rule);
# with neither, the cash desk.
_LATEST_MPESA = (
    select(Payment.phone_number)
    .where(Payment.booking_id == bindparam("b"), Payment.status == "success", Payment.method == "mpesa",
           Payment.phone_number.is_not(None))
    .order_by(Payment.id.desc()).limit(1)
)
_LATEST_CARD = (
    select(Payment)
    .where(Payment.booking_id == bindparam("b"), Payment.status == "success", Payment.method == "card",
           Payment.invoice_id.is_not(None),  # the booking's own payment keeps its one refund for a cancellation
           Payment.receipt.is_not(None), Payment.amount >= bindparam("amount"),
           ~exists().where(Refund.payment_id == Payment.id))
    .order_by(Payment.id.desc()).limit(1)
)


def raise_credit_refund(session: Session, *, booking_id: int, user_id: int, amount: int, reason: str) -> None:
    """Billing owes a rental's credit back (CreditRefundRequired): a refund for an admin to approve, paid like any
    other. It names no payment unless it goes back to a card (one request per card payment)."""
    if amount <= 0:
        return
    values: dict[str, Any] = {"booking_id": booking_id, "user_id": user_id, "amount": amount, "reason": reason,
                              "status": "required"}
    phone = session.scalar(_LATEST_MPESA, {"b": booking_id})
    card = None if phone else session.scalars(_LATEST_CARD, {"b": booking_id, "amount": amount}).first()
    if phone:
        values.update(method="mpesa", phone_number=phone)
    elif card is not None:
        values.update(method="card", payment_id=card.id, invoice_id=card.invoice_id)
    else:
        values.update(method="cash")
    refund_id = session.execute(insert(Refund).values(**values).returning(Refund.id)).scalar_one()
    log.warning("refund %s required: %s KES of rental %s's credit by %s (%s)", refund_id, amount, booking_id,
                values["method"], reason)
