"""Reactions of the booking service to other services' events (idempotent; run inside the consumer's transaction)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import BindParameter, Table, bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.changes import lock_booking, require_refund, stage_confirmed
from booking.models import Booking, Refund
from booking.service import is_overlap_refusal, save_unit_snapshot
from jeshkit.clock import nairobi_today
from jeshkit.consumer import Handlers, UnknownReference
from jeshkit.events import (
    BookingConfirmed,
    Event,
    PaymentFailed,
    PaymentSucceeded,
    RefundPaid,
    UnitCreated,
    UnitUpdated,
    stage,
)

log = logging.getLogger("booking.handlers")


def on_unit_changed(session: Session, data: UnitCreated | UnitUpdated, event: Event) -> None:
    """UnitCreated / UnitUpdated: refresh the unit copy (an older event arriving late changes nothing)."""
    save_unit_snapshot(session=session, snapshot=data, source_time=event.moment())


def _mark_paid(booking: Booking, payment: PaymentSucceeded, now: datetime) -> None:
    booking.payment_status = "success"
    booking.payment_id = payment.payment_id
    booking.payment_receipt = payment.receipt
    booking.amount_paid = payment.amount
    booking.updated_at = now


def _try_reconfirm(session: Session, booking: Booking, payment: PaymentSucceeded, now: datetime) -> bool:
    # A savepoint: if the exclusion constraint says the dates are taken now, only this attempt is undone.
    savepoint = session.begin_nested()
    booking.status = "confirmed"
    booking.cancel_reason = None
    booking.cancelled_at = None
    booking.confirmed_at = now
    _mark_paid(booking, payment, now)
    try:
        session.flush()
    except IntegrityError as exc:
        savepoint.rollback()
        if not is_overlap_refusal(exc):
            raise
        return False
    savepoint.commit()
    return True


# The usual payment, of a booking still pending: confirmed by one statement that returns what BookingConfirmed tells
# (the row locked as by lock_booking). Anything else takes the locked row and the rules below.
_BOOKINGS = cast(Table, Booking.__table__)
_AT: BindParameter[datetime] = bindparam("at")
_CONFIRM_PENDING = (
    update(_BOOKINGS)
    .where(_BOOKINGS.c.id == bindparam("booking"), _BOOKINGS.c.status == "pending")
    .values(status="confirmed", confirmed_at=_AT, payment_status="success", payment_id=bindparam("payment"),
            payment_receipt=bindparam("receipt"), amount_paid=bindparam("amount"), updated_at=_AT)
    .returning(_BOOKINGS.c.id.label("booking_id"), _BOOKINGS.c.user_id, _BOOKINGS.c.unit_id, _BOOKINGS.c.start_date,
               _BOOKINGS.c.end_date, _BOOKINGS.c.total_price, _BOOKINGS.c.plan, _BOOKINGS.c.monthly_rate)
)


def on_payment_succeeded(session: Session, payment: PaymentSucceeded, event: Event) -> None:
    """PaymentSucceeded: confirm the booking; money that can no longer buy its dates is recorded for refund."""
    if payment.invoice_id is not None:
        return  # rent for a later month of a monthly rental: billing applies it
    now = datetime.now(UTC)
    confirmed = session.execute(_CONFIRM_PENDING, {
        "booking": payment.booking_id, "at": now, "payment": payment.payment_id, "receipt": payment.receipt,
        "amount": payment.amount,
    }).mappings().first()
    if confirmed is not None:
        stage(session, BookingConfirmed(**confirmed))
        return
    booking = lock_booking(session=session, booking_id=payment.booking_id)
    if booking is None:
        raise UnknownReference(f"payment {payment.payment_id} succeeded for unknown booking {payment.booking_id}")

    # Not pending (the statement above waited for any other change of the row and read it again): confirmed or
    # cancelled, and a booking never becomes pending again.
    if booking.status == "confirmed":
        if booking.payment_id == payment.payment_id:
            return  # the payment that confirmed it, reported again
        reason = "duplicate_payment"
    elif booking.cancel_reason == "expired":
        # Paid after its hold ran out: the booking stands again if nobody has taken its dates meanwhile, unless they
        # are all past (a late card notice): the money would buy nothing.
        if booking.end_date is not None and booking.end_date <= nairobi_today(now):
            reason = "dates_passed"
        elif _try_reconfirm(session, booking, payment, now):
            stage_confirmed(session=session, booking=booking)
            return
        else:
            reason = "dates_taken"
    else:
        reason = "booking_cancelled"  # the customer or an admin cancelled it before the money arrived

    if booking.status == "cancelled":
        _mark_paid(booking, payment, now)
    require_refund(
        session=session,
        booking=booking,
        amount=payment.amount,
        payment_id=payment.payment_id,
        receipt=payment.receipt,
        reason=reason,
    )


def on_payment_failed(session: Session, payment: PaymentFailed, event: Event) -> None:
    """PaymentFailed: note it (the booking stays pending and payable within its hold); never undo a success."""
    if payment.invoice_id is not None:
        return  # an invoice's payment failed: the booking's own payment is untouched
    booking = lock_booking(session=session, booking_id=payment.booking_id)
    if booking is None:
        raise UnknownReference(f"payment {payment.payment_id} failed for unknown booking {payment.booking_id}")
    if booking.payment_status == "success":
        return
    booking.payment_status = "failed"
    booking.updated_at = datetime.now(UTC)


def on_refund_paid(session: Session, refund: RefundPaid, event: Event) -> None:
    """RefundPaid: the refund this booking recorded for that payment went back (with the amount payments paid:
    less CANCELLATION_FEE_KES for an owner's cancellation). Refunds booking never recorded change nothing."""
    if refund.payment_id is None:
        return
    session.execute(
        update(Refund)
        .where(Refund.payment_id == refund.payment_id, Refund.booking_id == refund.booking_id)
        .values(status="paid", amount=refund.amount)
    )


HANDLERS: Handlers = {
    UnitCreated: on_unit_changed,
    UnitUpdated: on_unit_changed,
    PaymentSucceeded: on_payment_succeeded,
    PaymentFailed: on_payment_failed,
    RefundPaid: on_refund_paid,
}
