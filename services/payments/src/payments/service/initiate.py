"""Starting a payment: the intent is committed before Daraja is asked, and Daraja is never asked with a
transaction or a row lock open (lock -> decide -> commit -> call -> lock again -> apply)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from jeshkit import audit
from jeshkit.errors import BadRequest, Conflict, Forbidden, NotFound, UpstreamUnavailable
from jeshkit.peers import Peer
from jeshkit.security import Principal
from payments.models import UNSETTLED, Payment, Unmatched
from payments.providers import (
    PaymentProvider,
    PaymentProviders,
    ProviderError,
    ProviderUncertain,
    StartedPayment,
)
from payments.service.bookings import locked_booking
from payments.service.settle import LOCK_NOT_AVAILABLE, fail, flag, lock_payment
from payments.settings import new_callback_token

log = logging.getLogger("payments.service")

IN_PROGRESS = "A payment is already in progress for this booking"
UNCERTAIN = (
    "M-PESA did not confirm the payment request in time. If a prompt reaches your phone, answer it: "
    "the payment will be matched. Do not pay again; check the payment status instead"
)
RECORDING = "A payment of this invoice is still being recorded; check the invoice again in a moment"
# The PaymentFailed result code of a push that could not be sent at all (Daraja's own code for it).
PUSH_NOT_SENT = 1025


def initiate_payment(
    *,
    session: Session,
    booking_service: Peer,
    provider: PaymentProvider,
    user: Principal,
    booking_id: int,
    payer: str,
    amount: float | None,
    account_reference: str | None,
    min_hold_seconds: float,
    for_owner: bool = False,
    release_card_orders: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """Ask the booking's owner to pay its total_price: the owner asks, or (`for_owner`) an admin sends the prompt
    to the owner's phone for them (the payment is the owner's; the admin's act is audited)."""
    try:
        booking = locked_booking(session, booking_service=booking_service, booking_id=booking_id)
    except OperationalError as exc:
        if getattr(exc.orig, "pgcode", None) == LOCK_NOT_AVAILABLE:
            raise Conflict(IN_PROGRESS) from None
        raise
    if booking is None:
        raise NotFound("Booking not found")
    owner = booking.user_id
    if owner is None or (owner != user.id and not (for_owner and user.is_admin)):
        raise Forbidden("Unauthorized")
    total = booking.total_price
    if total is not None:
        _check_given_amount(amount, total, "booking total", "booking's total_price")
    if booking.status != "pending" or total is None:
        raise Conflict("Booking is not pending")
    now = datetime.now(UTC)
    if booking.hold_expires_at is not None:
        if booking.hold_expires_at <= now:
            raise Conflict("The booking's hold has expired")
        if booking.hold_expires_at - now < timedelta(seconds=min_hold_seconds):
            raise Conflict(
                "Too little time is left on this booking's hold to answer an M-PESA prompt; "
                "please book again to pay"
            )
    live = set(session.execute(_LIVE_STATUSES, {"booking_id": booking_id}).scalars())
    if "success" in live:
        raise Conflict("Booking is already paid")
    if live and release_card_orders is not None:
        # A card order its owner left on Pesapal's page need not hold the booking (card.release_unpaid_card_orders,
        # which asks Pesapal with no transaction open); then everything is checked again, once.
        session.rollback()
        release_card_orders()
        return initiate_payment(
            session=session, booking_service=booking_service, provider=provider, user=user, booking_id=booking_id,
            payer=payer, amount=amount, account_reference=account_reference, min_hold_seconds=min_hold_seconds,
            for_owner=for_owner)
    if live:
        raise Conflict(IN_PROGRESS)
    _check_amount(provider, total, "this booking totals")
    payment = _record_intent(
        session, booking_id=booking_id, invoice_id=None, user_id=owner, amount=total, payer=payer,
        method=provider.method, reference=_account_reference(account_reference, f"JESH-{booking_id}"),
        conflict=IN_PROGRESS, prompted_by=user if for_owner else None,
    )
    return send_push(session, provider, payment)


def _check_given_amount(amount: float | None, charged: int, what: str, whose: str) -> None:
    """The client's `amount`, when it sends one, must be what the server charges (400 otherwise): it only checks."""
    if amount is not None and Decimal(str(amount)) != charged:
        raise BadRequest(f"Amount does not match the {what}",
                         [{"field": "amount", "message": f"must be the {whose} ({charged})"}])


def initiate_invoice_payment(
    *,
    session: Session,
    billing: Peer | None,
    provider: PaymentProvider,
    user: Principal,
    invoice_id: int,
    payer: str,
    amount: float | None = None,
    for_owner: bool = False,
    release_card_orders: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """Ask an invoice's owner to pay its balance (the invoice's facts come from billing, no transaction open); the
    owner asks, or (`for_owner`) an admin sends the prompt to the owner's phone for them. An `amount` given must be
    that balance (400 otherwise, as a booking's total_price)."""
    if billing is None:
        raise UpstreamUnavailable("The billing service is unavailable, please retry", 503)
    # Money for this invoice billing has not applied yet is not in the balance it answers: a push for that balance
    # would charge the customer again (PaymentSucceeded reaches billing a moment after the status reads success).
    # Read before billing is asked: a payment billing applies between the two reads is then counted in both (a 409,
    # never a second charge); read after, it would be in neither.
    recording = session.scalar(_UNAPPLIED, {"invoice_id": invoice_id}) or 0
    session.rollback()  # no transaction open across the call
    invoice = billing.get_as(f"/internal/invoices/{invoice_id}", InternalInvoice)
    if invoice is None:
        raise NotFound("Invoice not found")
    owner, booking_id, balance, status = invoice.user_id, invoice.booking_id, invoice.balance, invoice.status
    number = invoice.number or f"INV-{invoice_id}"
    if owner != user.id and not (for_owner and user.is_admin):
        raise Forbidden("Unauthorized")
    if status != "open" or balance <= 0:
        raise Conflict("Invoice is already paid" if status == "paid" or balance <= 0 else "Invoice is not open")
    if recording:
        raise Conflict("Invoice is already paid" if recording >= balance else RECORDING)
    _check_given_amount(amount, balance, "invoice balance", "invoice's balance")
    _check_amount(provider, balance, "this invoice's balance is")
    # A card order its owner left unpaid on Pesapal's page need not hold the invoice; one paid after all settles it.
    if release_card_orders is not None and release_card_orders():
        raise Conflict("Invoice is already paid")
    payment = _record_intent(
        session, booking_id=booking_id, invoice_id=invoice_id, user_id=owner, amount=balance, payer=payer,
        method=provider.method, reference=_account_reference(None, number),
        conflict="A payment is already in progress for this invoice", prompted_by=user if for_owner else None,
    )
    return send_push(session, provider, payment)


class InternalInvoice(BaseModel):
    """billing's `GET /internal/invoices/{id}`."""

    id: int
    number: str | None = None
    booking_id: int
    user_id: int
    total: int
    balance: int
    status: str


@dataclass(frozen=True)
class Intent:
    """What a push needs of its payment row, read before the row's transaction ends."""

    id: int
    booking_id: int
    amount: int
    phone_number: str | None
    account_reference: str | None
    callback_token: str | None

    @classmethod
    def of(cls, payment: Payment) -> Intent:
        return cls(payment.id, payment.booking_id, payment.amount, payment.phone_number, payment.account_reference,
                   payment.callback_token)


def _record_intent(
    session: Session, *, booking_id: int, invoice_id: int | None, user_id: int, amount: int, payer: str,
    method: str, reference: str, conflict: str, prompted_by: Principal | None = None,
) -> Intent:
    """Write and commit the payment, with its own callback token, before anything is sent; an admin's prompt is
    in the audit log with it."""
    token = new_callback_token()
    try:
        payment_id = session.execute(_INSERT_INTENT, {
            "booking_id": booking_id, "invoice_id": invoice_id, "user_id": user_id, "method": method,
            "amount": amount, "phone_number": payer, "account_reference": reference, "callback_token": token,
            "push_sent_at": datetime.now(UTC),
        }).scalar_one()
        if prompted_by is not None:
            audit.record(session, prompted_by, "payment.prompted", f"payment:{payment_id}", {
                "booking_id": booking_id, "invoice_id": invoice_id, "user_id": user_id, "amount": amount,
                "phone_number": payer})
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(conflict) from None
    return Intent(payment_id, booking_id, amount, payer, reference, token)


def send_push(
    session: Session, provider: PaymentProvider, payment: Intent, *, keep_failed: bool = False
) -> dict[str, Any]:
    """Send a recorded intent (no transaction open) and record Daraja's answer.

    Not sent (refused, unreachable): the intent is deleted so that a retry may go ahead, or with `keep_failed`
    (autopay) marked failed with PaymentFailed. Maybe sent: it stays pending. Both answer the client 502.
    """
    payment_id, amount, payer = payment.id, payment.amount, payment.phone_number or ""
    reference = payment.account_reference or f"JESH-{payment.booking_id}"
    token = payment.callback_token or ""
    session.rollback()  # nothing may hold a connection while Daraja is asked
    try:
        started = provider.start(amount=amount, payer=payer, account_reference=reference, callback_token=token)
    except ProviderUncertain:
        # It may have reached the phone: the payment stays pending, its callback (by token) or reconciliation
        # settles it, and no second push is allowed meanwhile.
        log.warning("payment %s: the push may have been sent; waiting for its callback", payment_id)
        raise UpstreamUnavailable(UNCERTAIN, 502) from None
    except ProviderError as exc:
        _not_sent(session, payment_id, exc.message, keep_failed=keep_failed)
        raise UpstreamUnavailable(exc.message, 502) from None
    record_accepted(session, provider, payment_id, started)
    return {"payment_id": payment_id, **started.answer}


def _not_sent(session: Session, payment_id: int, message: str, *, keep_failed: bool) -> None:
    payment = lock_payment(session, payment_id)
    if payment is not None and payment.status == "pending" and payment.checkout_request_id is None:
        if keep_failed:
            fail(session, payment, PUSH_NOT_SENT, message, reason=f"The M-PESA prompt could not be sent: {message}")
        else:
            session.delete(payment)
    session.commit()


def record_accepted(session: Session, provider: PaymentProvider, payment_id: int, started: StartedPayment) -> None:
    """Note the CheckoutRequestID (a callback may have brought it first), then apply a callback that came
    for it before it was known (kept as unmatched meanwhile)."""
    recorded = session.execute(_RECORD_ACCEPTED, {
        "payment_id": payment_id, "reference": started.reference, "merchant_reference": started.merchant_reference,
    }).one()
    if recorded.recorded:  # the usual case, in one statement; otherwise (a disagreement, a row gone) as below
        session.commit()
        early_payload = recorded.early
    else:
        session.rollback()
        early_payload = _record_accepted_slowly(session, payment_id, started)
    if early_payload is not None:
        log.info("payment %s: applying the callback that arrived before its CheckoutRequestID", payment_id)
        from payments.service.callbacks import apply_stk_callback  # callbacks imports this module

        apply_stk_callback(session, provider, early_payload, payment_id)


def _record_accepted_slowly(session: Session, payment_id: int, started: StartedPayment) -> Any:
    payment = lock_payment(session, payment_id)
    if payment is None:
        session.rollback()
        return None
    if payment.checkout_request_id is None:
        payment.checkout_request_id = started.reference
    elif payment.checkout_request_id != started.reference:
        flag(payment, f"Daraja answered {started.reference} but a callback said {payment.checkout_request_id}")
    payment.merchant_request_id = payment.merchant_request_id or started.merchant_reference
    early = session.scalars(
        select(Unmatched).where(Unmatched.reference == started.reference, Unmatched.payment_id.is_(None))
    ).first()
    if early is not None:
        early.payment_id = payment.id
    session.commit()
    return early.payload if early is not None else None


def send_queued_pushes(*, session_factory: sessionmaker[Session], providers: PaymentProviders, batch_size: int) -> int:
    """Send the pushes other services asked for (autopay), each claimed by one replica."""
    sent = 0
    for _ in range(batch_size):
        with session_factory() as session:
            payment = session.scalars(
                select(Payment)
                .where(Payment.status == "pending", Payment.push_sent_at.is_(None))
                .order_by(Payment.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if payment is None:
                break
            payment.push_sent_at = datetime.now(UTC)  # claimed: no other replica sends it
            session.commit()
            try:
                send_push(session, providers.get(payment.method), Intent.of(payment), keep_failed=True)
                sent += 1
            except UpstreamUnavailable as exc:
                log.warning("autopay push of payment %s not confirmed: %s", payment.id, exc.message)
    return sent


_LIVE_STATUSES = text(
    "SELECT status FROM payments WHERE booking_id = :booking_id AND invoice_id IS NULL "
    f"AND status IN ('success', {', '.join(repr(s) for s in UNSETTLED)})"
)
# What the invoice's success payments billing has not applied yet add up to. Billing applies one within seconds; one
# it has not told of for UNAPPLIED_WAIT (an event lost, say) holds the invoice no longer.
UNAPPLIED_WAIT = "10 minutes"
# The condition itself, shared by the invoice's check here and autopay's for the rental (handlers).
UNAPPLIED = f"status = 'success' AND billing_applied_at IS NULL AND settled_at > now() - interval '{UNAPPLIED_WAIT}'"
_UNAPPLIED = text(f"SELECT sum(amount) FROM payments WHERE invoice_id = :invoice_id AND {UNAPPLIED}")
_INSERT_INTENT = text(
    "INSERT INTO payments (booking_id, invoice_id, user_id, method, amount, status, phone_number, account_reference, "
    "callback_token, push_sent_at) VALUES (:booking_id, :invoice_id, :user_id, :method, :amount, 'pending', "
    ":phone_number, :account_reference, :callback_token, :push_sent_at) RETURNING id"
)
# Daraja's answer noted on its payment (unless the payment is gone or a callback brought another CheckoutRequestID),
# and a callback kept as unmatched because it came first claimed for it, in one statement.
_RECORD_ACCEPTED = text(
    "WITH noted AS (UPDATE payments SET checkout_request_id = :reference, "
    "merchant_request_id = COALESCE(NULLIF(merchant_request_id, ''), :merchant_reference), updated_at = now() "
    "WHERE id = :payment_id AND (checkout_request_id IS NULL OR checkout_request_id = :reference) RETURNING id), "
    "early AS (UPDATE unmatched SET payment_id = :payment_id WHERE id = (SELECT id FROM unmatched "
    "WHERE reference = :reference AND payment_id IS NULL ORDER BY id LIMIT 1) AND payment_id IS NULL "
    "AND EXISTS (SELECT FROM noted) RETURNING payload) "
    "SELECT EXISTS (SELECT FROM noted) AS recorded, (SELECT payload FROM early) AS early"
)


def _check_amount(provider: PaymentProvider, amount: int, what: str) -> None:
    if not 1 <= amount <= provider.max_amount:
        raise BadRequest(f"{provider.name} accepts 1 to {provider.max_amount:,} KES per payment; {what} {amount:,} KES")


def _account_reference(requested: str | None, fallback: str) -> str:
    """What the payer sees on the prompt: the client's (cleaned, at most 12 characters) or ours."""
    cleaned = re.sub(r"[^A-Za-z0-9 \-]", "", requested or "").strip()[:12].strip()
    return cleaned or fallback[:12]
