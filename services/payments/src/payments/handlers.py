"""Reactions of the payments service to other services' events (idempotent; run inside the consumer's transaction,
so none of them calls anything outside: a push asked for by billing is queued and sent by a job)."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from jeshkit.consumer import Handler, Handlers
from jeshkit.erasure import forget_personal_events
from jeshkit.events import (
    AutopayRequested,
    BookingCancelled,
    BookingConfirmed,
    BookingCreated,
    CreditRefundRequired,
    CustomerErased,
    Event,
    RefundRequired,
    RentPaymentApplied,
)
from payments import service
from payments.daraja_wire import MAX_AMOUNT, normalize_phone
from payments.models import Payment
from payments.service import remember_booking
from payments.service.initiate import UNAPPLIED
from payments.settings import Settings, new_callback_token

log = logging.getLogger("payments.handlers")


def on_booking_created(session: Session, data: BookingCreated, event: Event) -> None:
    """Remember a new booking: who owns it and what it costs."""
    remember_booking(
        session,
        booking_id=data.booking_id,
        status="pending",
        status_at=event.moment(),
        user_id=data.user_id,
        unit_id=data.unit_id,
        total_price=data.total_price,
        hold_expires_at=data.hold_expires_at,
    )


def on_booking_confirmed(session: Session, data: BookingConfirmed, event: Event) -> None:
    """A confirmed booking takes no more payments (also when confirmed again after a late payment)."""
    remember_booking(
        session,
        booking_id=data.booking_id,
        status="confirmed",
        status_at=event.moment(),
        user_id=data.user_id,
        unit_id=data.unit_id,
        total_price=data.total_price,
    )


def make_on_booking_cancelled(fee: int) -> Handler:
    def on_cancelled(session: Session, data: BookingCancelled, event: Event) -> None:
        """A cancelled booking takes no more payments; a paid one cancelled by its owner or an admin is refunded."""
        remember_booking(
            session, booking_id=data.booking_id, status="cancelled", status_at=event.moment(),
            user_id=data.user_id, unit_id=data.unit_id,
        )
        service.on_booking_cancelled(
            session, booking_id=data.booking_id, reason=data.reason, start_date=data.start_date,
            cancelled_at=event.moment(), fee=fee,
        )

    return on_cancelled


def on_refund_required(session: Session, data: RefundRequired, event: Event) -> None:
    """Booking could not use a payment: refund it."""
    service.on_refund_required(session, payment_id=data.payment_id, amount=data.amount, reason=data.reason)


def on_credit_refund_required(session: Session, data: CreditRefundRequired, event: Event) -> None:
    """Billing owes an ended rental's credit back: a refund for an admin to approve."""
    service.raise_credit_refund(session, booking_id=data.booking_id, user_id=data.user_id, amount=data.amount,
                                reason=data.reason)


# What the rental's invoices were paid that billing has not applied yet (initiate.UNAPPLIED_WAIT bounds it).
_UNAPPLIED_OF_RENTAL = text(
    f"SELECT sum(amount) FROM payments WHERE booking_id = :booking_id AND invoice_id IS NOT NULL AND {UNAPPLIED}"
)


def on_autopay_requested(session: Session, data: AutopayRequested, event: Event) -> None:
    """Billing asks for an invoice to be charged: queue the push (a job sends it; at most one per invoice)."""
    phone = normalize_phone(data.phone_number)
    if phone is None or not 1 <= data.amount <= MAX_AMOUNT:
        log.warning("autopay for invoice %s not possible (phone %r, %s KES)", data.invoice_id, data.phone_number,
                    data.amount)
        return
    recording = session.scalar(_UNAPPLIED_OF_RENTAL, {"booking_id": data.booking_id}) or 0
    if recording >= data.amount:  # paid a moment ago (billing has not applied it yet): not charged again
        log.info("autopay for invoice %s skipped: KES %s paid for the rental is still being recorded", data.invoice_id,
                 recording)
        return
    queued = session.execute(
        insert(Payment)
        .values(
            booking_id=data.booking_id, invoice_id=data.invoice_id, user_id=data.user_id, method="mpesa",
            amount=data.amount, status="pending", phone_number=phone, account_reference=f"INV-{data.invoice_id}"[:12],
            callback_token=new_callback_token(), push_sent_at=None,
        )
        .on_conflict_do_nothing()  # a push already unsettled for this invoice
        .returning(Payment.id)
    ).first()
    if queued is None:
        log.info("autopay for invoice %s skipped: a payment is already in progress", data.invoice_id)


_APPLIED = text(
    "UPDATE payments SET billing_applied_at = now() WHERE id = :payment_id AND billing_applied_at IS NULL"
)


def on_rent_payment_applied(session: Session, data: RentPaymentApplied, event: Event) -> None:
    """Billing applied a payment to a rental: the invoice's balance billing answers now counts it (initiate waits
    for that before another push for the invoice)."""
    session.execute(_APPLIED, {"payment_id": data.payment_id})


def on_customer_erased(session: Session, data: CustomerErased, event: Event) -> None:
    """Auth erased the customer: their phone numbers go from their payments, refunds and unmatched money; amounts,
    receipts, statuses and dates stay (service.erasure)."""
    service.erase_customer(session, user_id=data.user_id)
    forget_personal_events(session, user_id=data.user_id)  # a parked AutopayRequested carried their phone


def handlers(settings: Settings) -> Handlers:
    return {
        BookingCreated: on_booking_created,
        BookingConfirmed: on_booking_confirmed,
        BookingCancelled: make_on_booking_cancelled(settings.cancellation_fee_kes),
        RefundRequired: on_refund_required,
        AutopayRequested: on_autopay_requested,
        CreditRefundRequired: on_credit_refund_required,
        RentPaymentApplied: on_rent_payment_applied,
        CustomerErased: on_customer_erased,
    }
