"""Thin HTTP routes of the billing service: invoices, rental accounts, the test clock, reports."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from billing import daily, invoicing, reports, service
from billing.models import Rental
from billing.rules import Rules, today_in_nairobi
from billing.schemas import (
    MAX_ID,
    Advance,
    Aging,
    AutopayChange,
    InternalInvoice,
    InvoiceOut,
    InvoiceStatus,
    RentalAccount,
    RentRollRow,
    Revenue,
)
from billing.settings import Settings
from jeshkit.db import SessionDep
from jeshkit.errors import BadRequest, Forbidden, NotFound
from jeshkit.inputs import DATE_PATTERN
from jeshkit.schemas import ERROR_RESPONSES, Envelope
from jeshkit.security import AdminUser, CurrentUser

invoices_router = APIRouter(prefix="/api/invoices", tags=["billing"], responses=ERROR_RESPONSES)
billing_router = APIRouter(prefix="/api/billing", tags=["billing"], responses=ERROR_RESPONSES)
test_clock_router = APIRouter(prefix="/api/billing", tags=["billing"], responses=ERROR_RESPONSES)
internal_router = APIRouter(prefix="/internal/invoices", include_in_schema=False)

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Format = Annotated[Literal["json", "csv"], Query(description="`csv` for a spreadsheet")]
_DATE = re.compile(DATE_PATTERN)
D = TypeVar("D", date, None)
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


def rules_of(request: Request) -> Rules:
    settings: Settings = request.app.state.settings
    return rules_from(settings)


def rules_from(settings: Settings) -> Rules:
    return Rules(
        lead_days=settings.billing_invoice_lead_days,
        reminder_days_before=settings.billing_reminder_days_before,
        grace_days=settings.billing_grace_days,
        late_fee=settings.billing_late_fee_kes,
        lockout_days=settings.billing_lockout_days,
        lien_days=settings.billing_lien_days,
        autopay_retry_days=settings.billing_autopay_retry_days,
    )


def _account(session: Session, rental: Rental, rules: Rules) -> RentalAccount:
    invoices = invoicing.open_invoices(session=session, booking_id=rental.booking_id)
    return RentalAccount.render(
        rental,
        balance=service.rental_balance(session=session, rental=rental),
        paid_through=reports.paid_through(session=session, rental=rental, open_invoices=invoices),
        next_invoice_date=reports.next_invoice_date(rental, rules),
    )


def _invoice_out(session: Session, invoice_id: int, *, actor_id: int, admin: bool) -> InvoiceOut:
    invoice = invoicing.get_invoice(session=session, invoice_id=invoice_id, actor_id=actor_id, actor_is_admin=admin,
                                    with_refunds=True)
    rental = session.get(Rental, invoice.booking_id)
    return InvoiceOut.render(invoice, rental.as_of if rental else invoice.due_date)


def _csv(body: str, name: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


# --- invoices -------------------------------------------------------------------------------------------
@invoices_router.get("", response_model=Envelope[list[InvoiceOut]], summary="The caller's invoices (admin: all)")
def list_invoices(
    user: CurrentUser,
    session: SessionDep,
    status: Annotated[InvoiceStatus | None, Query()] = None,
    user_id: QueryId = None,
    booking_id: QueryId = None,
    overdue: Annotated[bool, Query(description="admins: only open invoices past their due date")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Envelope[list[InvoiceOut]]:
    """Newest first. A user sees their own (a `user_id` naming someone else: 403)."""
    if not user.is_admin:
        if user_id is not None and user_id != user.id:
            raise Forbidden("Unauthorized")
        user_id = user.id
    found = invoicing.list_invoices(session=session, user_id=user_id, status=status, booking_id=booking_id,
                                  overdue=overdue, limit=limit, offset=offset)
    as_of = {r.booking_id: r.as_of for r in session.query(Rental).filter(
        Rental.booking_id.in_({i.booking_id for i in found} or {0}))}
    return Envelope(data=[InvoiceOut.render(i, as_of.get(i.booking_id, i.due_date)) for i in found])


@invoices_router.get("/{invoice_id}", response_model=Envelope[InvoiceOut], summary="One invoice")
def get_invoice(invoice_id: PathId, user: CurrentUser, session: SessionDep) -> Envelope[InvoiceOut]:
    """Its owner or an admin; anybody else 403; unknown 404."""
    return Envelope(data=_invoice_out(session, invoice_id, actor_id=user.id, admin=user.is_admin))


@internal_router.get("/{invoice_id}")
def internal_invoice(invoice_id: PathId, session: SessionDep) -> Envelope[InternalInvoice]:
    """For payments (never routed by the gateway): what it needs to charge the invoice's balance."""
    invoice = invoicing.get_invoice(session=session, invoice_id=invoice_id, actor_id=None, actor_is_admin=True)
    return Envelope(data=InternalInvoice.of(invoice))


@internal_router.get("/paybill/{account}")
def paybill_invoice(account: Annotated[str, Path(max_length=20)], session: SessionDep) -> Envelope[InternalInvoice]:
    """For payments: the invoice money paid to the Paybill with this account number goes to (`INV-000123`: that
    invoice; `JESH-42`: the rental's oldest open invoice, else its latest). Neither: 404."""
    invoice = invoicing.paybill_invoice(session=session, account=account)
    if invoice is None:
        raise NotFound("No invoice for that account number")
    return Envelope(data=InternalInvoice.of(invoice))


# --- rental accounts ------------------------------------------------------------------------------------
@billing_router.get("/rentals/{booking_id}", response_model=Envelope[RentalAccount], summary="A rental account")
def get_rental(booking_id: PathId, user: CurrentUser, session: SessionDep, request: Request) -> Envelope[RentalAccount]:
    """Its owner or an admin. Not a (confirmed) monthly rental: 404."""
    rental = service.get_rental(session=session, booking_id=booking_id, actor_id=user.id, actor_is_admin=user.is_admin)
    return Envelope(data=_account(session, rental, rules_of(request)))


@billing_router.put("/rentals/{booking_id}/autopay", response_model=Envelope[RentalAccount], summary="Autopay")
def set_autopay(
    booking_id: PathId, body: AutopayChange, user: CurrentUser, session: SessionDep, request: Request
) -> Envelope[RentalAccount]:
    """The owner: while enabled, an STK Push for each invoice on its due date (and once more
    BILLING_AUTOPAY_RETRY_DAYS later if unpaid), to `phone_number` (default: the profile's phone)."""
    rental = service.set_autopay(session=session, booking_id=booking_id, actor_id=user.id, enabled=body.enabled,
                                 phone_number=body.phone_number)
    return Envelope(data=_account(session, rental, rules_of(request)))


@test_clock_router.post("/rentals/{booking_id}/advance", response_model=Envelope[RentalAccount],
                        summary="The rental's test clock (never in production)")
def advance(
    booking_id: PathId, body: Advance, admin: AdminUser, session: SessionDep, request: Request
) -> Envelope[RentalAccount]:
    """Admin: bill this rental day by day up to `to` exactly as the daily job would (issue, remind, autopay,
    late fee, lock-out, lien). Earlier than the day billing has run up to: 409. Absent in production."""
    rules = rules_of(request)
    rental = daily.advance(session=session, booking_id=booking_id, to=body.to, rules=rules, actor=admin)
    return Envelope(data=_account(session, rental, rules))


# --- reports -------------------------------------------------------------------------------------------
@billing_router.get("/reports/rent-roll", response_model=Envelope[list[RentRollRow]], responses=CSV_RESPONSE,
                    summary="Rent roll")
def rent_roll(_: AdminUser, session: SessionDep, request: Request, format: Format = "json") -> Any:
    """A row per active rental (and per ended one still owing money): its account's fields, the tenant's name,
    the unit number and days_past_due. The balances add up to the open invoices' (and to the aging total)."""
    rows = reports.rent_roll(session=session, rules=rules_of(request))
    if format == "csv":
        return _csv(reports.to_csv(rows, reports.RENT_ROLL_COLUMNS), "rent-roll")
    return Envelope(data=[RentRollRow.model_validate(row) for row in rows])


@billing_router.get("/reports/aging", response_model=Envelope[Aging], responses=CSV_RESPONSE, summary="Aging")
def aging(_: AdminUser, session: SessionDep, format: Format = "json") -> Any:
    """Open balances in buckets current, 1-30, 31-60, 61-90, 90+ days past due, per rental and in total."""
    report = reports.aging(session=session)
    if format == "csv":
        columns = ["booking_id", "user_id", "tenant_name", "unit_number", "current", "1-30", "31-60", "61-90",
                   "90+", "total"]
        return _csv(reports.to_csv(report["rows"], columns), "aging")
    return Envelope(data=Aging.model_validate(report))


@billing_router.get("/reports/revenue", response_model=Envelope[Revenue], responses=CSV_RESPONSE,
                    summary="Revenue by month and method")
def revenue(
    _: AdminUser,
    session: SessionDep,
    from_: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD (default: a year before `to`)")] = None,
    to: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive (default: today)")] = None,
    format: Format = "json",
) -> Any:
    """Payments collected less refunds paid, per month (Nairobi) and method: a row for every month from `from`'s to
    `to`'s (at most 1200) and every method money moved by in them, zeros where nothing did."""
    given_start, end = _day(from_, "from", None), _day(to, "to", today_in_nairobi())
    # A year before `to` (no earlier than the first day a date can name: ?to=0001-06-01 is no 500).
    start = given_start or max(end, date.min + timedelta(days=365)) - timedelta(days=365)
    if start > end:
        raise BadRequest("Invalid request", [{"field": "to", "message": "Must not be before from"}])
    if reports.month_count(start, end) > reports.MAX_REVENUE_MONTHS:
        raise BadRequest("Invalid request", [{"field": "to", "message": "At most 1200 months from from"}])
    report = reports.revenue(session=session, start=start, end=end)
    if format == "csv":
        return _csv(reports.to_csv(report["rows"], ["month", "method", "collected", "refunds", "net"]), "revenue")
    return Envelope(data=Revenue.model_validate(report))


def _day(value: str | None, field: str, default: D) -> date | D:
    if value is None or not value.strip():
        return default
    # Exactly YYYY-MM-DD: Python's fromisoformat also takes other ISO 8601 forms of ten characters (2026-W05-1).
    if not _DATE.fullmatch(value):
        return _bad(field)
    try:
        return date.fromisoformat(value)
    except ValueError:
        return _bad(field)


def _bad(field: str) -> NoReturn:
    raise BadRequest("Invalid request", [{"field": field, "message": "Must be a date in the form YYYY-MM-DD"}])
