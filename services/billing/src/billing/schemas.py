"""Request and response models of the billing service (the HTTP contract)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from billing.models import Invoice, Rental
from jeshkit.inputs import IsoDate, kenyan_mobile

MAX_ID = 2**63 - 1


def _phone(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("Input should be a Kenyan phone number")
    phone = kenyan_mobile(value)
    if phone is None:
        raise ValueError("Input should be a Kenyan phone number such as 0712345678")
    return phone


def _strict_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("Input should be true or false")
    return value


Phone = Annotated[str | None, BeforeValidator(_phone)]
InvoiceStatus = Literal["open", "paid", "void"]
Stage = Literal["current", "late", "locked_out", "lien"]


class InvoiceLineOut(BaseModel):
    kind: Literal["rent", "late_fee", "adjustment"]
    description: str
    amount: int


class InvoicePaymentOut(BaseModel):
    payment_id: int
    amount: int = Field(description="the part of the payment that went to this invoice")
    method: str
    receipt: str | None
    refunded: int = Field(description="how much of that part went back to the payer (a refund of the payment)")


class InvoiceOut(BaseModel):
    id: int
    number: str
    booking_id: int
    user_id: int
    period_start: date
    period_end: date = Field(description="the period's last day")
    issue_date: date
    due_date: date
    lines: list[InvoiceLineOut]
    total: int
    amount_paid: int
    amount_refunded: int = Field(description="of amount_paid, what went back to the payer by refunds of its payments")
    balance: int
    status: InvoiceStatus
    days_overdue: int
    payments: list[InvoicePaymentOut]

    @classmethod
    def render(cls, invoice: Invoice, as_of: date) -> InvoiceOut:
        payments = [
            InvoicePaymentOut(payment_id=a.payment_id, amount=a.amount, method=a.payment.method,
                              receipt=a.payment.receipt, refunded=a.refunded)
            for a in invoice.allocations
        ]
        return cls(
            id=invoice.id,
            number=invoice.number,
            booking_id=invoice.booking_id,
            user_id=invoice.user_id,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            lines=[InvoiceLineOut(kind=ln.kind, description=ln.description, amount=ln.amount)  # type: ignore[arg-type]
                   for ln in invoice.lines],
            total=invoice.total,
            amount_paid=invoice.amount_paid,
            balance=invoice.balance,
            status=invoice.status,  # type: ignore[arg-type]
            days_overdue=max((as_of - invoice.due_date).days, 0) if invoice.status == "open" else 0,
            payments=payments,
            amount_refunded=sum(p.refunded for p in payments),
        )


class InternalInvoice(BaseModel):
    """GET /internal/invoices/{id}: what payments needs to charge an invoice."""

    id: int
    number: str
    booking_id: int
    user_id: int
    total: int
    balance: int
    status: InvoiceStatus

    @classmethod
    def of(cls, invoice: Invoice) -> InternalInvoice:
        return cls(id=invoice.id, number=invoice.number, booking_id=invoice.booking_id, user_id=invoice.user_id,
                   total=invoice.total, balance=invoice.balance, status=invoice.status)  # type: ignore[arg-type]


class Autopay(BaseModel):
    enabled: bool
    phone_number: str | None


class RentalAccount(BaseModel):
    booking_id: int
    user_id: int
    unit_id: int
    monthly_rate: int
    billing_day: int
    start_date: date
    end_date: date | None
    next_invoice_date: date | None
    paid_through: date | None
    balance: int
    credit: int = Field(description=(
        "money paid ahead that no invoice has taken yet (KES): it pays the next invoices, and what is left when the "
        "rental ends goes back to the customer (a refund an admin approves)"))
    access: Literal["active", "suspended"]
    delinquency_stage: Stage
    autopay: Autopay
    gate_code: str = Field(description=(
        "6 digits; opens the gate while access is active and the rental has not ended (owner and admins only); "
        "never given to another rental"))
    as_of: date = Field(description="the day this rental's billing has run up to")
    status: Literal["active", "ended"]

    @classmethod
    def render(cls, rental: Rental, *, balance: int, paid_through: date | None,
               next_invoice_date: date | None) -> RentalAccount:
        return cls(
            booking_id=rental.booking_id,
            user_id=rental.user_id,
            unit_id=rental.unit_id,
            monthly_rate=rental.monthly_rate,
            billing_day=rental.billing_day,
            start_date=rental.start_date,
            end_date=rental.end_date,
            next_invoice_date=next_invoice_date,
            paid_through=paid_through,
            balance=balance,
            credit=rental.credit,
            access=rental.access,  # type: ignore[arg-type]
            delinquency_stage=rental.delinquency_stage,  # type: ignore[arg-type]
            autopay=Autopay(enabled=rental.autopay_enabled, phone_number=rental.autopay_phone),
            gate_code=rental.gate_code,
            as_of=rental.as_of,
            status=rental.status,  # type: ignore[arg-type]
        )


class AutopayChange(BaseModel):
    """PUT /api/billing/rentals/{id}/autopay."""

    model_config = ConfigDict(extra="ignore")

    enabled: Annotated[bool, BeforeValidator(_strict_bool)]
    phone_number: Phone = None


class Advance(BaseModel):
    """POST /api/billing/rentals/{id}/advance (the test clock)."""

    to: IsoDate


class RentRollRow(BaseModel):
    booking_id: int
    user_id: int
    tenant_name: str | None
    unit_id: int
    unit_number: str | None
    monthly_rate: int
    billing_day: int
    next_invoice_date: date | None
    paid_through: date | None
    balance: int
    credit: int = Field(description="money paid ahead that no invoice has taken yet (KES)")
    days_past_due: int
    delinquency_stage: Stage
    access: Literal["active", "suspended"]
    as_of: date


class AgingBuckets(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    current: int
    d1_30: int = Field(alias="1-30")
    d31_60: int = Field(alias="31-60")
    d61_90: int = Field(alias="61-90")
    d90_plus: int = Field(alias="90+")
    total: int


class AgingRow(AgingBuckets):
    booking_id: int
    user_id: int
    tenant_name: str | None
    unit_number: str | None


class Aging(BaseModel):
    rows: list[AgingRow]
    totals: AgingBuckets


class RevenueRow(BaseModel):
    month: str = Field(description="YYYY-MM (Nairobi)")
    method: str
    collected: int
    refunds: int
    net: int


class RevenueTotals(BaseModel):
    collected: int
    refunds: int
    net: int


class Revenue(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    rows: list[RevenueRow]
    totals: RevenueTotals
