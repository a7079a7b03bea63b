"""Billing use cases for rentals and money: start a rental, record payments and refunds, apply them to invoices,
keep the rental's standing (stage, access). State changes here never commit: the caller (a use case in api/
handlers/daily, which owns the transaction) does."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import TypedDict, cast

from sqlalchemy import BigInteger, bindparam, exists, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from billing import events as ev
from billing.invoicing import new_invoice, open_invoices, settle
from billing.models import CancelledBooking, EarlyMoveOut, Invoice, Payment, Refund, Rental, Tenant, UnitCopy
from billing.rules import Rules, access_for, is_worse, period_after, stage_for, today_in_nairobi
from jeshkit.errors import BadRequest, Conflict, Forbidden, NotFound
from jeshkit.events.payments import Method

log = logging.getLogger("billing.service")

GATE_CODE_ATTEMPTS = 50


# --- reading -----------------------------------------------------------------------------------------


def serialize_booking(*, session: Session, booking_id: int) -> None:
    """Take this booking's transaction lock: BookingConfirmed (makes the rental) and its first PaymentSucceeded
    (makes the payment) each look for the other's row. Run at once by two replicas under READ COMMITTED, each would
    miss the other's uncommitted row and invoice 1 would never be recorded; with the lock the second sees the
    first's commit."""
    session.execute(_SERIALIZE, {"b": booking_id})


# Built once (bound parameters only): the consumer's hot path builds no statement per event.
_BOOKING_LOCK = "pg_advisory_xact_lock(hashtext('billing-rental'), mod({booking}, 2147483647)::int)"
_SERIALIZE = text(f"SELECT {_BOOKING_LOCK.format(booking=':b')}")
_LOCK_RENTAL = (
    select(Rental).where(Rental.booking_id == bindparam("b")).with_for_update()
    .execution_options(populate_existing=True)
)


def lock_rental(*, session: Session, booking_id: int) -> Rental | None:
    """The rental, its row locked until the transaction ends (fresh values, not the session's cache)."""
    return session.scalars(_LOCK_RENTAL, {"b": booking_id}).first()


def rental_balance(*, session: Session, rental: Rental) -> int:
    """What the rental owes now: its open invoices' balances less any credit (never below 0)."""
    owed = session.scalar(
        select(func.coalesce(func.sum(Invoice.total - Invoice.amount_paid), 0)).where(
            Invoice.booking_id == rental.booking_id, Invoice.status == "open"
        )
    )
    return max(int(owed or 0) - rental.credit, 0)


def get_rental(*, session: Session, booking_id: int, actor_id: int, actor_is_admin: bool) -> Rental:
    """The rental account of a monthly booking, for its owner or an admin."""
    rental = session.get(Rental, booking_id)
    if rental is None:
        raise NotFound("Rental not found")
    if not actor_is_admin and rental.user_id != actor_id:
        raise Forbidden("Unauthorized")
    return rental


# --- events' facts --------------------------------------------------------------------------------------


class AccessFields(TypedDict):
    """What AccessSuspended and AccessRestored carry."""

    booking_id: int
    user_id: int
    unit_id: int
    balance: int


def access_facts(*, session: Session, rental: Rental) -> AccessFields:
    return {
        "booking_id": rental.booking_id,
        "user_id": rental.user_id,
        "unit_id": rental.unit_id,
        "balance": rental_balance(session=session, rental=rental),
    }


# --- invoices -------------------------------------------------------------------------------------------


def refresh_standing(*, session: Session, rental: Rental, rules: Rules) -> str:
    """Set the stage and access from the oldest open invoice as of the rental's day; stage the access change.

    Returns the previous stage."""
    previous = rental.delinquency_stage
    oldest = session.scalar(
        select(func.min(Invoice.due_date)).where(Invoice.booking_id == rental.booking_id, Invoice.status == "open")
    )
    # Nothing open: current, whatever the knobs (BILLING_GRACE_DAYS=0 makes an invoice late on its due date).
    stage = stage_for((rental.as_of - oldest).days, rules) if oldest is not None else "current"
    access = access_for(stage)
    if stage != previous:
        rental.delinquency_stage = stage
        rental.updated_at = datetime.now(UTC)
    if access != rental.access:
        rental.access = access
        if rental.status != "ended":  # a tenant who has left opens no gate: nothing to tell them, or a gate system
            facts = access_facts(session=session, rental=rental)
            ev.stage(session, ev.AccessSuspended(**facts) if access == "suspended" else ev.AccessRestored(**facts))
    return previous


def stage_got_worse(previous: str, rental: Rental) -> bool:
    return is_worse(rental.delinquency_stage, previous)


# --- rentals --------------------------------------------------------------------------------------------


def _new_gate_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _insert_rental(*, session: Session, data: ev.BookingConfirmed) -> Rental:
    """The rental row of a confirmed monthly booking, with a gate code of its own."""
    for _ in range(GATE_CODE_ATTEMPTS):
        # Under the booking's lock no other rental of it can appear: the only conflict left is a gate code some
        # other rental has or had (never reused), and then no row comes back and another code is drawn (no
        # savepoint needed).
        rental = session.scalars(
            pg_insert(Rental)
            .values(
                booking_id=data.booking_id,
                user_id=data.user_id,
                unit_id=data.unit_id,
                monthly_rate=data.monthly_rate,
                start_date=data.start_date,
                end_date=data.end_date,
                billing_day=data.start_date.day,
                next_period_start=period_after(data.start_date, data.start_date.day),
                # Billing runs from the day of confirmation (the daily job bills it at the run hour).
                as_of=today_in_nairobi() - timedelta(days=1),
                status="active",
                delinquency_stage="current",
                access="active",
                credit=0,
                autopay_enabled=False,
                gate_code=_new_gate_code(),
            )
            .on_conflict_do_nothing()
            .returning(Rental)
        ).first()
        if rental is not None:
            return rental
    raise RuntimeError("no free gate code found")


def start_rental(*, session: Session, data: ev.BookingConfirmed) -> Rental | None:
    """A confirmed monthly booking becomes a rental (once); its first payment becomes invoice 1 (paid)."""
    if data.plan != "monthly" or data.monthly_rate is None:
        return None
    serialize_booking(session=session, booking_id=data.booking_id)
    rental = lock_rental(session=session, booking_id=data.booking_id)
    if rental is None and session.get(CancelledBooking, data.booking_id) is not None:
        log.warning("booking %s was cancelled before its confirmation was applied: no rental", data.booking_id)
        return None
    if rental is None:
        rental = _insert_rental(session=session, data=data)
        early = session.get(EarlyMoveOut, data.booking_id)  # a move-out notice applied before this confirmation
        if early is not None:
            rental.end_date = min(rental.end_date or date.max, early.move_out_date)  # as move_out: only earlier
    record_first_invoice(session=session, rental=rental)
    return rental


# The booking's first payment not applied yet, locked; none once invoice 1 (the period from start_date) exists.
_FIRST_PAYMENT = (
    select(Payment)
    .where(
        Payment.booking_id == bindparam("b"), Payment.invoice_id.is_(None), Payment.applied.is_(False),
        ~exists().where(Invoice.booking_id == bindparam("b"), Invoice.period_start == bindparam("start")),
    )
    .order_by(Payment.paid_at, Payment.payment_id)
    .limit(1)
    .with_for_update(of=Payment)
)


def record_first_invoice(*, session: Session, rental: Rental) -> Invoice | None:
    """Invoice 1 (the first period), paid by the booking's first payment, once that payment is known."""
    payment = session.scalars(
        _FIRST_PAYMENT, {"b": rental.booking_id, "start": rental.start_date}
    ).first()
    if payment is None:
        return None  # invoice 1 exists, or the PaymentSucceeded has not arrived yet (it records invoice 1 then)
    invoice = new_invoice(
        session=session, rental=rental, period_start=rental.start_date, issued_on=payment.paid_on, flush=False
    )
    paid = min(payment.amount, invoice.total)
    settle(session=session, invoice=invoice, amount=paid, payment=payment, now=payment.paid_at)
    rental.credit += payment.amount - paid
    payment.applied = True
    return invoice


# PaymentSucceeded's first statement: the payment row (once: a redelivery inserts nothing and returns no row) and,
# when it is new, the transaction lock of its booking (serialize_booking), in one round trip: the lock only has to
# come before the rental is read, in a later statement. RETURNING, not a CTE: PostgreSQL plans it as the bare INSERT.
_INSERT_PAYMENT = (
    "INSERT INTO payments (payment_id, booking_id, invoice_id, user_id, amount, method, receipt, paid_at, paid_on,"
    " applied) VALUES (:payment_id, :booking_id, :invoice_id, :user_id, :amount, :method, :receipt, :paid_at,"
    " :paid_on, false) ON CONFLICT (payment_id) DO NOTHING RETURNING {booking}, "
)
_RECORD_PAYMENT = text(
    _INSERT_PAYMENT.format(booking="booking_id") + _BOOKING_LOCK.format(booking="booking_id")
).bindparams(bindparam("invoice_id", type_=BigInteger))
# An invoice's payment (autopay): the booking is the invoice's (the payment's own when that invoice is unknown).
_INVOICE_BOOKING = "coalesce((SELECT i.booking_id FROM invoices i WHERE i.id = :invoice_id), :booking_id)"
_RECORD_INVOICE_PAYMENT = text(
    _INSERT_PAYMENT.format(booking=_INVOICE_BOOKING) + _BOOKING_LOCK.format(booking=_INVOICE_BOOKING)
).bindparams(bindparam("invoice_id", type_=BigInteger), bindparam("booking_id", type_=BigInteger))


def record_payment(*, session: Session, data: ev.PaymentSucceeded, rules: Rules) -> None:
    """Keep every payment (the revenue report); a rental's money goes to its invoices, oldest open first."""
    paid_at = data.paid_at if data.paid_at.tzinfo else data.paid_at.replace(tzinfo=UTC)
    statement = _RECORD_PAYMENT if data.invoice_id is None else _RECORD_INVOICE_PAYMENT
    booking_id = session.execute(statement, {
        "payment_id": data.payment_id,
        "booking_id": data.booking_id,
        "invoice_id": data.invoice_id,
        "user_id": data.user_id,
        "amount": data.amount,
        "method": data.method,
        "receipt": data.receipt,
        "paid_at": paid_at,
        "paid_on": today_in_nairobi(paid_at),
    }).scalar()
    if booking_id is None:
        return  # this payment was recorded already
    rental = lock_rental(session=session, booking_id=booking_id)
    if rental is None:
        return  # a fixed booking's payment, or a rental not confirmed yet (start_rental picks it up)
    if data.invoice_id is None:
        record_first_invoice(session=session, rental=rental)
        return
    payment = session.get(Payment, data.payment_id)
    assert payment is not None
    apply_payment(session=session, rental=rental, payment=payment, rules=rules)


def apply_payment(*, session: Session, rental: Rental, payment: Payment, rules: Rules) -> None:
    """Spread the payment over the open invoices, oldest first; any rest is credit (given back when the rental has
    ended). Then the standing, and the customer's receipt of it (RentPaymentApplied), whatever it paid."""
    now = datetime.now(UTC)
    remaining = payment.amount
    paid: list[ev.PaidInvoice] = []
    for invoice in open_invoices(session=session, booking_id=rental.booking_id, lock=True):
        if remaining <= 0:
            break
        part = min(remaining, invoice.balance)
        if part > 0:
            settle(session=session, invoice=invoice, amount=part, payment=payment, now=now)
            paid.append(ev.PaidInvoice(invoice_id=invoice.id, number=invoice.number, amount=part))
        remaining -= part
    rental.credit += remaining
    payment.applied = True
    rental.updated_at = now
    refund = 0
    if rental.status == "ended":  # no invoice will ever take the rest
        refund = return_credit(session=session, rental=rental, amount=remaining,
                               reason="paid to a rental that had ended")
    refresh_standing(session=session, rental=rental, rules=rules)
    ev.stage(session, ev.RentPaymentApplied(
        payment_id=payment.payment_id, booking_id=rental.booking_id, user_id=rental.user_id, amount=payment.amount,
        method=cast(Method, payment.method), receipt=payment.receipt, invoices=paid,
        balance=rental_balance(session=session, rental=rental), credit=rental.credit, refund=refund,
    ))


def return_credit(*, session: Session, rental: Rental, amount: int, reason: str) -> int:
    """Credit of an ended rental that no invoice will take goes back to the customer: billing never pays anyone, so
    it asks payments (CreditRefundRequired), which raises the refund for an admin to approve. Returns how much."""
    amount = min(amount, rental.credit)
    if amount <= 0:
        return 0
    rental.credit -= amount
    ev.stage(session, ev.CreditRefundRequired(
        booking_id=rental.booking_id, user_id=rental.user_id, amount=amount, reason=reason
    ))
    log.info("rental %s: %s KES of credit to be refunded (%s)", rental.booking_id, amount, reason)
    return amount


def set_autopay(
    *, session: Session, booking_id: int, actor_id: int, enabled: bool, phone_number: str | None
) -> Rental:
    """The owner turns autopay on (with a phone: the one given, else their profile's) or off."""
    rental = lock_rental(session=session, booking_id=booking_id)
    if rental is None:
        raise NotFound("Rental not found")
    if rental.user_id != actor_id:
        raise Forbidden("Unauthorized")
    if enabled:
        phone = phone_number
        if phone is None:
            tenant = session.get(Tenant, rental.user_id)
            phone = tenant.phone if tenant is not None else None
        if phone is None:
            raise BadRequest("Invalid request", [{"field": "phone_number", "message": "phone_number is required"}])
        rental.autopay_phone = phone
    elif phone_number is not None:
        rental.autopay_phone = phone_number
    rental.autopay_enabled = enabled
    rental.updated_at = datetime.now(UTC)
    session.commit()
    return rental


def refuse_going_back(rental: Rental, to: date) -> None:
    if to < rental.as_of:
        raise Conflict(f"The rental's billing has already run up to {rental.as_of.isoformat()}")


# --- copies of other services' facts ---------------------------------------------------------------------


def record_refund(*, session: Session, data: ev.RefundPaid, occurred_at: datetime) -> None:
    session.execute(
        pg_insert(Refund)
        .values(
            refund_id=data.refund_id,
            booking_id=data.booking_id,
            invoice_id=data.invoice_id,
            payment_id=data.payment_id,
            user_id=data.user_id,
            amount=data.amount,
            method=data.method,
            receipt=data.receipt,
            paid_on=today_in_nairobi(occurred_at),
        )
        .on_conflict_do_nothing(index_elements=[Refund.refund_id])
    )


def save_tenant(*, session: Session, data: ev.UserRegistered | ev.UserUpdated, stated_at: datetime) -> None:
    """Upsert the tenant's copy, unless the customer was erased (a late event never brings the person back) or the
    copy holds facts stated later (an older event applied after a newer one)."""
    stmt = pg_insert(Tenant).values(
        user_id=data.user_id, name=data.name, email=data.email, phone=data.phone, facts_at=stated_at
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Tenant.user_id],
            set_={"name": stmt.excluded.name, "email": stmt.excluded.email, "phone": stmt.excluded.phone,
                  "facts_at": stmt.excluded.facts_at},
            where=Tenant.erased_at.is_(None)
            & (Tenant.facts_at.is_(None) | (Tenant.facts_at <= stmt.excluded.facts_at)),
        )
    )


def save_unit(*, session: Session, data: ev.UnitCreated | ev.UnitUpdated) -> None:
    stmt = pg_insert(UnitCopy).values(unit_id=data.unit_id, unit_number=data.unit_number)
    session.execute(
        stmt.on_conflict_do_update(index_elements=[UnitCopy.unit_id], set_={"unit_number": stmt.excluded.unit_number})
    )
