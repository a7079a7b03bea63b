"""One day of one rental's billing, and the two things that run it: the daily job and the test clock.

`bill_day(rental, day)` is idempotent: it first inserts the (rental, day) row of `billed_days`, whose primary key
refuses a second insert, and works under the rental's row lock. So a day is billed once whatever the replicas,
restarts or test-clock calls, and running a day twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from billing import events as ev
from billing.invoicing import invoice_facts, new_invoice, open_invoices, use_credit
from billing.models import BilledDay, Invoice, InvoiceLine, Rental
from billing.rules import Rules, issue_date, period_after
from billing.service import (
    lock_rental,
    refresh_standing,
    refuse_going_back,
    rental_balance,
    return_credit,
    stage_got_worse,
)
from jeshkit import audit
from jeshkit.audit import Actor
from jeshkit.clock import NAIROBI
from jeshkit.errors import BadRequest, NotFound

log = logging.getLogger("billing.daily")

MAX_ADVANCE_DAYS = 366 * 3


def _claim_day(session: Session, booking_id: int, day: date) -> bool:
    row = session.execute(
        pg_insert(BilledDay)
        .values(booking_id=booking_id, day=day)
        .on_conflict_do_nothing(index_elements=[BilledDay.booking_id, BilledDay.day])
        .returning(BilledDay.day)
    ).first()
    return row is not None


def _issue_due_invoices(session: Session, rental: Rental, day: date, rules: Rules) -> None:
    """Issue every period whose issue date has come (lead days before it), unless the rental ends first."""
    while issue_date(rental.next_period_start, rules) <= day and (
        rental.end_date is None or rental.next_period_start < rental.end_date
    ):
        invoice = new_invoice(session=session, rental=rental, period_start=rental.next_period_start, issued_on=day)
        # Money paid ahead goes to the new invoice first (just below, after the issue's event, which asks the
        # customer for what is left of it to pay).
        issued = invoice_facts(invoice)
        issued["balance"] -= min(rental.credit, invoice.balance)
        ev.stage(session, ev.InvoiceIssued(**issued))
        if rental.credit > 0:
            use_credit(session=session, rental=rental, invoices=[invoice], now=datetime.now(UTC))
        rental.next_period_start = period_after(rental.next_period_start, rental.billing_day)


def _ladder(session: Session, invoice: Invoice, day: date, rules: Rules, *, nudges: bool) -> bool:
    """The reminders (`nudges`) and the late fee of one open invoice on `day`. True: it went past its grace days
    today."""
    until_due = (invoice.due_date - day).days
    if nudges and until_due in (rules.reminder_days_before, 0) and invoice.issue_date <= day:
        ev.stage(session, ev.InvoiceReminder(**invoice_facts(invoice), days_until_due=until_due))
    past_due = (day - invoice.due_date).days
    late_today = past_due >= rules.grace_days and not invoice.late_fee_charged
    if late_today:
        invoice.late_fee_charged = True
        if rules.late_fee > 0:
            invoice.lines.append(
                InvoiceLine(kind="late_fee", description=late_fee_text(past_due), amount=rules.late_fee)
            )
            invoice.total += rules.late_fee
            session.flush()
            ev.stage(session, ev.LateFeeCharged(**invoice_facts(invoice), amount=rules.late_fee))
    return late_today


def late_fee_text(past_due: int) -> str:
    """The fee line's words: "Late fee (5 days past due)", "(1 day past due)"; on the due date itself
    (BILLING_GRACE_DAYS=0) just "Late fee" (it said "(0 days past due)")."""
    if past_due <= 0:
        return "Late fee"
    return f"Late fee ({past_due} day{'' if past_due == 1 else 's'} past due)"


def _autopay_attempt(invoice: Invoice, since: date, day: date, rules: Rules) -> int | None:
    """The autopay push an open invoice asks for in the days since..day: 1 on its due date, 2 the retry days
    after (the later if both), None if neither falls in them."""
    attempts = {invoice.due_date: 1, invoice.due_date + timedelta(days=rules.autopay_retry_days): 2}
    return max((attempt for on, attempt in attempts.items() if since <= on <= day), default=None)


def _autopay(session: Session, rental: Rental, open_ones: list[Invoice], since: date, day: date,
             rules: Rules) -> None:
    """At most one push a day for the rental, for all it owes (after the day's late fees, less money paid ahead):
    a payment goes to the oldest open invoice first, so a push for the newest invoice's balance alone would pay an
    older one and leave the newest open, late; and two invoices due the same day would push twice."""
    if not (rental.autopay_enabled and rental.autopay_phone):
        return
    attempts = [a for invoice in open_ones if (a := _autopay_attempt(invoice, since, day, rules)) is not None]
    owed = rental_balance(session=session, rental=rental)
    if attempts and owed > 0:
        ev.stage(session, ev.AutopayRequested(
            invoice_id=open_ones[0].id, booking_id=rental.booking_id, user_id=rental.user_id, amount=owed,
            phone_number=rental.autopay_phone, attempt=max(attempts),
        ))


def bill_day(*, session: Session, rental: Rental, day: date, rules: Rules, since: date | None = None,
             until: date | None = None) -> bool:
    """Bill one day of one locked rental: issue, remind, autopay, late fee, lock-out, lien. False: done before.

    The daily job catching up after an outage bills the days since..until one by one: the invoices, fees and stages
    of each, but the customer's nudges only on the last (no reminder of a day gone by; one autopay push, for a due
    or retry day among them). The test clock bills each day as today (since = until = day)."""
    since, until = since or day, until or day
    if not _claim_day(session, rental.booking_id, day):
        return False
    _issue_due_invoices(session, rental, day, rules)
    if rental.status == "active" and rental.end_date is not None and day >= rental.end_date:
        rental.status = "ended"  # its gate code opens nothing any more (and is never given to another rental)
        if rental.credit > 0:  # moved out: what was paid ahead and no open invoice takes is paid back
            open_ones = open_invoices(session=session, booking_id=rental.booking_id, lock=True)
            use_credit(session=session, rental=rental, invoices=open_ones, now=datetime.now(UTC))
            return_credit(session=session, rental=rental, amount=rental.credit, reason="credit left at the move-out")
    open_ones = open_invoices(session=session, booking_id=rental.booking_id, lock=True)
    nudges = day >= until
    late_today = [invoice for invoice in open_ones if _ladder(session, invoice, day, rules, nudges=nudges)]
    if nudges:
        _autopay(session, rental, open_ones, since, day, rules)
    rental.as_of = day
    rental.updated_at = datetime.now(UTC)
    previous = refresh_standing(session=session, rental=rental, rules=rules)
    overdue = []
    if stage_got_worse(previous, rental):  # the oldest open invoice took the rental a step down the ladder
        overdue.append(open_ones[0])
        log.info("rental %s is now %s", rental.booking_id, rental.delinquency_stage)
    # A later invoice past its grace days (its late fee charged) while the rental is late already: the customer hears
    # of it too (the stage did not move).
    overdue += [invoice for invoice in late_today if invoice not in overdue]
    for invoice in overdue:
        fee = sum(line.amount for line in invoice.lines if line.kind == "late_fee")
        ev.stage(session, ev.InvoiceOverdue(**invoice_facts(invoice), days_overdue=(day - invoice.due_date).days,
                                            late_fee=fee))
    return True


def advance(*, session: Session, booking_id: int, to: date, rules: Rules, actor: Actor) -> Rental:
    """The test clock: bill the rental day by day up to `to` (never backwards), in one transaction."""
    rental = lock_rental(session=session, booking_id=booking_id)
    if rental is None:
        raise NotFound("Rental not found")
    refuse_going_back(rental, to)
    if (to - rental.as_of).days > MAX_ADVANCE_DAYS:
        raise BadRequest("Invalid request", [{"field": "to", "message": "At most 3 years ahead at a time"}])
    audit.record(session, actor, "rental.clock_advanced", f"rental:{booking_id}",
                 {"from": rental.as_of.isoformat(), "to": to.isoformat()})
    day = rental.as_of + timedelta(days=1)
    while day <= to:
        bill_day(session=session, rental=rental, day=day, rules=rules)
        day += timedelta(days=1)
    session.commit()
    return rental


def billing_day_for(now: datetime, run_hour: int) -> date:
    """The last day the daily job bills at instant `now`: today from the run hour (Nairobi) on, else yesterday."""
    local = now.astimezone(NAIROBI)
    return local.date() if local.hour >= run_hour else local.date() - timedelta(days=1)


# Built once: the job asks every interval, mostly to hear that there is nothing to do.
_RENTALS_TO_BILL = (
    select(Rental)
    .where(
        Rental.as_of < bindparam("target"),
        or_(
            Rental.status == "active",
            exists().where(Invoice.booking_id == Rental.booking_id, Invoice.status == "open"),
        ),
    )
    .order_by(Rental.booking_id)
    .limit(bindparam("batch_size"))
    .with_for_update(of=Rental, skip_locked=True)
)


def run_daily_job(
    *, session_factory: sessionmaker[Session], rules: Rules, run_hour: int, batch_size: int,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Bill every rental up to the current billing day; replicas share rentals with SKIP LOCKED. Days billed."""
    target = billing_day_for(now(), run_hour)
    billed = 0
    while True:
        with session_factory() as session:
            rentals = session.scalars(_RENTALS_TO_BILL, {"target": target, "batch_size": batch_size}).all()
            for rental in rentals:
                day = since = rental.as_of + timedelta(days=1)
                while day <= target:
                    billed += bill_day(session=session, rental=rental, day=day, rules=rules, since=since, until=target)
                    day += timedelta(days=1)
            session.commit()
        if len(rentals) < batch_size:
            break
    if billed:
        log.info("daily job billed %d rental-days up to %s", billed, target)
    return billed
