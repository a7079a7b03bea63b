"""The end of a rental: a move-out notice (BookingMovedOut) or a cancellation (BookingCancelled). No period
starting on or after the end is billed; what was paid on such a period is credit again (service.return_credit pays
back what is left once the rental has ended)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from billing import events as ev
from billing.invoicing import open_invoices, use_credit
from billing.models import CancelledBooking, EarlyMoveOut, Invoice, Rental
from billing.rules import Rules
from billing.service import lock_rental, refresh_standing, return_credit, serialize_booking

# The paid invoices of periods starting on or after a day, locked, but invoice 1: the booking's own payment paid it,
# and payments' rule for a cancelled booking refunds that payment (a move-out never reaches it: it is after the start).
_PAID_FROM = (
    select(Invoice)
    .where(Invoice.booking_id == bindparam("b"), Invoice.status == "paid", Invoice.period_start >= bindparam("day"),
           Invoice.period_start > bindparam("start"))
    .with_for_update()
)


def void_invoices_from(*, session: Session, rental: Rental, first_day: date, rules: Rules) -> None:
    """Void the invoices of periods starting on or after first_day (the rental ends before them), open or paid (a
    month paid ahead that will not be used), but invoice 1. What was paid on them (part of a payment spread oldest
    first, or credit) is credit again, and goes to the rental's other open invoices, oldest first; what is left goes
    back to the customer once the rental has ended."""
    still_open = []
    later_paid = session.scalars(
        _PAID_FROM, {"b": rental.booking_id, "day": first_day, "start": rental.start_date}
    ).all()
    for invoice in [*open_invoices(session=session, booking_id=rental.booking_id, lock=True), *later_paid]:
        if invoice.period_start >= first_day:
            invoice.status = "void"
            rental.credit += invoice.amount_paid
        else:
            still_open.append(invoice)
    use_credit(session=session, rental=rental, invoices=still_open, now=datetime.now(UTC))
    refresh_standing(session=session, rental=rental, rules=rules)


def move_out(*, session: Session, data: ev.BookingMovedOut, rules: Rules) -> None:
    """BookingMovedOut: no period starting on or after the move-out date is billed. A notice applied before the
    booking's confirmation (out of order) is kept: the rental the confirmation opens ends on that date."""
    serialize_booking(session=session, booking_id=data.booking_id)  # against start_rental in another replica
    rental = lock_rental(session=session, booking_id=data.booking_id)
    if rental is None:
        kept = pg_insert(EarlyMoveOut).values(booking_id=data.booking_id, move_out_date=data.move_out_date)
        session.execute(kept.on_conflict_do_update(
            index_elements=[EarlyMoveOut.booking_id],
            set_={"move_out_date": func.least(EarlyMoveOut.move_out_date, kept.excluded.move_out_date)},
        ))
        return
    # Only ever earlier (booking refuses a later one): a notice delivered late never moves it back.
    rental.end_date = min(rental.end_date or date.max, data.move_out_date)
    rental.updated_at = datetime.now(UTC)
    void_invoices_from(session=session, rental=rental, first_day=rental.end_date, rules=rules)
    if rental.status == "ended":  # applied after the end (a cancellation came first): nothing will take the credit
        return_credit(session=session, rental=rental, amount=rental.credit, reason="credit left at the move-out")


def end_rental(*, session: Session, data: ev.BookingCancelled, cancelled_at: datetime, rules: Rules) -> None:
    """BookingCancelled by its owner or an admin: the rental ends now; its unpaid future periods are voided.

    An expiry is not an end: billing has a rental only of a confirmed booking, and an expiry never touches one (a
    late payment confirms an expired hold again, and that expiry may be applied after the confirmation). A
    cancellation applied before its booking's confirmation (out of order) is kept, so that the confirmation opens
    no rental."""
    if data.reason == "expired":
        return
    serialize_booking(session=session, booking_id=data.booking_id)  # against start_rental in another replica
    rental = lock_rental(session=session, booking_id=data.booking_id)
    if rental is None:
        session.execute(
            pg_insert(CancelledBooking)
            .values(booking_id=data.booking_id, reason=data.reason, cancelled_at=cancelled_at)
            .on_conflict_do_nothing()
        )
        return
    rental.status = "ended"
    rental.end_date = min(rental.end_date or date.max, max(rental.as_of + timedelta(days=1), rental.start_date))
    rental.updated_at = datetime.now(UTC)
    void_invoices_from(session=session, rental=rental, first_day=rental.end_date, rules=rules)
    # What no invoice takes goes back: money paid ahead on invoices (payments' cancellation rule refunds the booking's
    # own payment, which paid invoice 1, never voided).
    return_credit(session=session, rental=rental, amount=rental.credit, reason="credit left at the cancellation")
