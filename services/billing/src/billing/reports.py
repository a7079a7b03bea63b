"""Admin reports: rent roll, aging, revenue. Plain rows (dicts) that the API renders as JSON or CSV."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from billing.models import Invoice, Payment, Refund, Rental, Tenant, UnitCopy
from billing.rules import AGING_BUCKETS, Rules, aging_bucket, issue_date

RENT_ROLL_COLUMNS = (
    "booking_id", "user_id", "tenant_name", "unit_id", "unit_number", "monthly_rate", "billing_day",
    "next_invoice_date", "paid_through", "balance", "credit", "days_past_due", "delinquency_stage", "access", "as_of",
)


def _open_by_rental(session: Session) -> dict[int, list[Invoice]]:
    found: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in session.scalars(
        select(Invoice).where(Invoice.status == "open").order_by(Invoice.due_date, Invoice.id)
    ):
        found[invoice.booking_id].append(invoice)
    return found


def paid_through(*, session: Session, rental: Rental, open_invoices: list[Invoice]) -> date | None:
    """The last day covered without a gap: before the oldest open period, else the last paid period's end."""
    if open_invoices:
        first_open = min(invoice.period_start for invoice in open_invoices)
        return None if first_open <= rental.start_date else first_open - timedelta(days=1)
    return session.scalar(
        select(func.max(Invoice.period_end)).where(Invoice.booking_id == rental.booking_id, Invoice.status == "paid")
    )


def next_invoice_date(rental: Rental, rules: Rules) -> date | None:
    if rental.end_date is not None and rental.next_period_start >= rental.end_date:
        return None
    return issue_date(rental.next_period_start, rules)


def days_past_due(rental: Rental, open_invoices: list[Invoice]) -> int:
    if not open_invoices:
        return 0
    return max((rental.as_of - open_invoices[0].due_date).days, 0)


def _names(session: Session) -> tuple[dict[int, str], dict[int, str]]:
    tenants = {t.user_id: t.name for t in session.scalars(select(Tenant))}
    units = {u.unit_id: u.unit_number for u in session.scalars(select(UnitCopy))}
    return tenants, units


def _rentals_in_report(session: Session, open_by_rental: dict[int, list[Invoice]]) -> list[Rental]:
    """Active rentals, and ended ones that still owe money (so the totals match the aging report)."""
    return list(
        session.scalars(
            select(Rental)
            .where(or_(Rental.status == "active", Rental.booking_id.in_(list(open_by_rental) or [0])))
            .order_by(Rental.booking_id)
        )
    )


def _balance(rental: Rental, open_invoices: list[Invoice]) -> int:
    return max(sum(invoice.balance for invoice in open_invoices) - rental.credit, 0)


def rent_roll(*, session: Session, rules: Rules) -> list[dict[str, Any]]:
    open_by_rental = _open_by_rental(session)
    tenants, units = _names(session)
    rows = []
    for rental in _rentals_in_report(session, open_by_rental):
        invoices = open_by_rental.get(rental.booking_id, [])
        through = paid_through(session=session, rental=rental, open_invoices=invoices)
        upcoming = next_invoice_date(rental, rules)
        rows.append({
            "booking_id": rental.booking_id,
            "user_id": rental.user_id,
            "tenant_name": tenants.get(rental.user_id),
            "unit_id": rental.unit_id,
            "unit_number": units.get(rental.unit_id),
            "monthly_rate": rental.monthly_rate,
            "billing_day": rental.billing_day,
            "next_invoice_date": upcoming.isoformat() if upcoming else None,
            "paid_through": through.isoformat() if through else None,
            "balance": _balance(rental, invoices),
            "credit": rental.credit,
            "days_past_due": days_past_due(rental, invoices),
            "delinquency_stage": rental.delinquency_stage,
            "access": rental.access,
            "as_of": rental.as_of.isoformat(),
        })
    return rows


def aging(*, session: Session) -> dict[str, Any]:
    """Open balances by days past their due date (each invoice as of its rental's billing day)."""
    open_by_rental = _open_by_rental(session)
    tenants, units = _names(session)
    rows = []
    totals = dict.fromkeys(AGING_BUCKETS, 0)
    for rental in _rentals_in_report(session, open_by_rental):
        buckets = dict.fromkeys(AGING_BUCKETS, 0)
        credit = rental.credit
        # Newest first, so that a credit offsets the most recent (least overdue) balance.
        for invoice in reversed(open_by_rental.get(rental.booking_id, [])):
            owed = invoice.balance
            used = min(credit, owed)
            credit -= used
            buckets[aging_bucket((rental.as_of - invoice.due_date).days)] += owed - used
        total = sum(buckets.values())
        if total == 0:
            continue
        for name, amount in buckets.items():
            totals[name] += amount
        rows.append({"booking_id": rental.booking_id, "user_id": rental.user_id,
                     "tenant_name": tenants.get(rental.user_id), "unit_number": units.get(rental.unit_id),
                     **buckets, "total": total})
    return {"rows": rows, "totals": {**totals, "total": sum(totals.values())}}


# Every month of the range has its rows (zero when nothing moved), so a chart or a spreadsheet of the report skips no
# month: a range is at most this many months (a row per month and method).
MAX_REVENUE_MONTHS = 1200
# The method of an empty month's row when no money moved in the whole range (the way most customers pay).
USUAL_METHOD = "mpesa"


def month_count(start: date, end: date) -> int:
    """How many months from start's to end's, both included."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def months(start: date, end: date) -> list[str]:
    """The months (YYYY-MM) from start's to end's, both included."""
    first = start.year * 12 + start.month - 1
    return [f"{n // 12:04d}-{n % 12 + 1:02d}" for n in range(first, first + month_count(start, end))]


def revenue(*, session: Session, start: date, end: date) -> dict[str, Any]:
    """Money collected (payments) and refunds paid, per month and method, between start and end (inclusive): a row
    for every month of the range and every method money moved by in it (zeros where nothing did; a range with no
    money at all: a row of zeros per month, method mpesa)."""
    table: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"collected": 0, "refunds": 0})
    month = func.to_char(Payment.paid_on, "YYYY-MM")
    for key, method, amount in session.execute(
        select(month, Payment.method, func.sum(Payment.amount))
        .where(Payment.paid_on >= start, Payment.paid_on <= end)
        .group_by(month, Payment.method)
    ):
        table[(key, method)]["collected"] += int(amount)
    refund_month = func.to_char(Refund.paid_on, "YYYY-MM")
    for key, method, amount in session.execute(
        select(refund_month, Refund.method, func.sum(Refund.amount))
        .where(Refund.paid_on >= start, Refund.paid_on <= end)
        .group_by(refund_month, Refund.method)
    ):
        table[(key, method)]["refunds"] += int(amount)
    methods = sorted({method for _, method in table}) or [USUAL_METHOD]
    nothing = {"collected": 0, "refunds": 0}
    rows = [
        {"month": key, "method": method, "collected": v["collected"], "refunds": v["refunds"],
         "net": v["collected"] - v["refunds"]}
        for key in months(start, end) for method in methods for v in (table.get((key, method), nothing),)
    ]
    collected = sum(v["collected"] for v in table.values())
    refunds = sum(v["refunds"] for v in table.values())
    return {"from": start.isoformat(), "to": end.isoformat(), "rows": rows,
            "totals": {"collected": collected, "refunds": refunds, "net": collected - refunds}}


# A spreadsheet takes a cell starting with one of these for a formula (CSV injection): a tenant may name themselves
# =HYPERLINK(...) and the operator opening the report would run it. Such text is written after an apostrophe, which
# the spreadsheet shows as text (OWASP's advice); numbers and dates never start so.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] | list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return out.getvalue()
