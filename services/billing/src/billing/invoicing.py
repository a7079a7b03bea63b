"""Invoices: reading them, issuing one, putting money on one, and the facts their events carry. State changes here
never commit: the caller (a use case in api/handlers/daily, which owns the transaction) does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TypedDict, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from billing import events as ev
from billing.models import Allocation, Invoice, InvoiceLine, Payment, Rental
from billing.rules import period_end
from jeshkit.errors import Forbidden, NotFound
from jeshkit.events.payments import Method

# What an invoice's answer shows of its payments and their refunds: three statements for any number of them.
WITH_REFUNDS = selectinload(Invoice.allocations).joinedload(Allocation.payment).options(
    selectinload(Payment.allocations), selectinload(Payment.refunds)
)


def open_invoices(*, session: Session, booking_id: int, lock: bool = False) -> list[Invoice]:
    """The rental's open invoices, oldest first (the order payments are applied in)."""
    query = (
        select(Invoice)
        .where(Invoice.booking_id == booking_id, Invoice.status == "open")
        .order_by(Invoice.due_date, Invoice.id)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(query).all())


def get_invoice(*, session: Session, invoice_id: int, actor_id: int | None, actor_is_admin: bool,
                with_refunds: bool = False) -> Invoice:
    """One invoice, for its owner or an admin (actor_id None: a peer service); with_refunds: to answer it whole."""
    invoice = session.get(Invoice, invoice_id, options=[WITH_REFUNDS] if with_refunds else [])
    if invoice is None:
        raise NotFound("Invoice not found")
    if actor_id is not None and not actor_is_admin and invoice.user_id != actor_id:
        raise Forbidden("Unauthorized")
    return invoice


def paybill_invoice(*, session: Session, account: str) -> Invoice | None:
    """The invoice money paid with this (normalised) account number goes to: `INV-000123` that invoice; `JESH-42`
    booking 42's rental's oldest open invoice, else its latest (then it becomes credit)."""
    if account.startswith("INV-"):
        return session.scalars(select(Invoice).where(Invoice.number == account)).first()
    booking = account.removeprefix("JESH-")
    if not account.startswith("JESH-") or not booking.isascii() or not booking.isdigit() or len(booking) > 18:
        return None
    oldest_open = open_invoices(session=session, booking_id=int(booking))
    if oldest_open:
        return oldest_open[0]
    latest = select(Invoice).where(Invoice.booking_id == int(booking)).order_by(Invoice.id.desc()).limit(1)
    return session.scalars(latest).first()


def list_invoices(
    *,
    session: Session,
    user_id: int | None = None,
    status: str | None = None,
    booking_id: int | None = None,
    overdue: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[Invoice]:
    """Invoices matching every given filter, newest first, with their payments and refunds (to answer them)."""
    query = select(Invoice).options(WITH_REFUNDS)
    if user_id is not None:
        query = query.where(Invoice.user_id == user_id)
    if status is not None:
        query = query.where(Invoice.status == status)
    if booking_id is not None:
        query = query.where(Invoice.booking_id == booking_id)
    if overdue:
        query = query.join(Rental, Rental.booking_id == Invoice.booking_id).where(
            Invoice.status == "open", Invoice.due_date < Rental.as_of
        )
    query = query.order_by(Invoice.period_start.desc(), Invoice.id.desc()).offset(offset).limit(limit)
    return session.scalars(query).all()


class InvoiceFields(TypedDict):
    """What every invoice event carries (jeshkit.events.billing.InvoiceFacts)."""

    invoice_id: int
    number: str
    booking_id: int
    user_id: int
    total: int
    balance: int
    due_date: date
    period_start: date
    period_end: date


def invoice_facts(invoice: Invoice) -> InvoiceFields:
    return {
        "invoice_id": invoice.id,
        "number": invoice.number,
        "booking_id": invoice.booking_id,
        "user_id": invoice.user_id,
        "total": invoice.total,
        "balance": invoice.balance,
        "due_date": invoice.due_date,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
    }


def new_invoice(
    *, session: Session, rental: Rental, period_start: date, issued_on: date, flush: bool = True
) -> Invoice:
    """Insert the rent invoice of one period (flushed, so it has its id and number; flush=False: pending, inserted
    by the next flush, e.g. with the payment settle() puts on it at once)."""
    invoice = Invoice(
        booking_id=rental.booking_id,
        user_id=rental.user_id,
        period_start=period_start,
        period_end=period_end(period_start, rental.billing_day),
        issue_date=issued_on,
        due_date=period_start,
        total=rental.monthly_rate,
        amount_paid=0,
        status="open",
    )
    invoice.lines.append(
        InvoiceLine(
            kind="rent",
            description=f"Rent {period_start.isoformat()} to {invoice.period_end.isoformat()}",
            amount=rental.monthly_rate,
        )
    )
    session.add(invoice)
    if flush:
        session.flush()  # the number comes back with the INSERT (Invoice's eager_defaults)
    return invoice


def use_credit(*, session: Session, rental: Rental, invoices: Sequence[Invoice], now: datetime) -> None:
    """The rental's credit (money paid ahead, or given back by a voided invoice) on these open invoices, in order, as
    far as it goes."""
    for invoice in invoices:
        used = min(rental.credit, invoice.balance)
        rental.credit -= used
        settle(session=session, invoice=invoice, amount=used, payment=None, now=now)


def settle(*, session: Session, invoice: Invoice, amount: int, payment: Payment | None, now: datetime) -> None:
    """Put `amount` (at most the balance) on the invoice; paid in full: status paid and InvoicePaid. A pending (not
    yet inserted) invoice is inserted as settled, with its allocation, instead of inserted and then updated."""
    if amount <= 0:
        return
    invoice.amount_paid += amount
    if payment is not None:
        session.add(Allocation(payment_id=payment.payment_id, invoice=invoice, amount=amount))
    if invoice.amount_paid >= invoice.total:
        invoice.status = "paid"
        invoice.paid_at = now
        if invoice in session.new:
            session.flush()  # InvoicePaid carries its id and number
        receipt, method = (payment.receipt, cast(Method, payment.method)) if payment is not None else (None, None)
        with_booking = payment is not None and payment.invoice_id is None  # the booking's own payment
        # The payment's own receipt is its RentPaymentApplied (service.apply_payment), or, with_booking, the
        # booking's confirmation: payment_id tells notifications that this one is not a receipt.
        ev.stage(session, ev.InvoicePaid(**invoice_facts(invoice), amount_paid=invoice.amount_paid, receipt=receipt,
                                         method=method, with_booking=with_booking,
                                         payment_id=payment.payment_id if payment is not None else None))
