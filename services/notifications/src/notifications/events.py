"""The data of the events this service reacts to, validated in this one place.

Temporary: these models move to the kit's typed event layer (`jeshkit.events`) once it lands on main.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

Id = int


class EventData(BaseModel):
    model_config = ConfigDict(extra="ignore")


class UserRegistered(EventData):
    user_id: Id
    email: str
    name: str
    role: str = "user"
    phone: str | None = None


class UserUpdated(EventData):
    user_id: Id
    email: str
    phone: str | None = None
    name: str
    role: str = "user"


class BookingCreated(EventData):
    booking_id: Id
    user_id: Id
    unit_id: Id
    start_date: date
    end_date: date | None = None
    total_price: int
    hold_expires_at: datetime


class BookingConfirmed(EventData):
    booking_id: Id
    user_id: Id
    unit_id: Id
    start_date: date
    end_date: date | None = None
    total_price: int


class BookingCancelled(EventData):
    booking_id: Id
    user_id: Id
    unit_id: Id
    start_date: date
    end_date: date | None = None
    reason: str


class PaymentSucceeded(EventData):
    payment_id: Id
    booking_id: Id
    user_id: Id
    amount: int
    method: str = "mpesa"
    receipt: str | None = None
    invoice_id: Id | None = None


class PaymentFailed(EventData):
    payment_id: Id
    booking_id: Id
    user_id: Id
    amount: int
    method: str = "mpesa"
    result_code: int | None = None
    reason: str = ""
    invoice_id: Id | None = None


class RefundPaid(EventData):
    refund_id: Id
    booking_id: Id
    invoice_id: Id | None = None
    user_id: Id
    amount: int
    method: str = "mpesa"
    receipt: str | None = None


class TransportStatusChanged(EventData):
    request_id: Id
    user_id: Id
    booking_id: Id | None = None
    status: str
    previous_status: str | None = None


class Invoice(EventData):
    """The fields every billing invoice event carries."""

    invoice_id: Id
    number: str
    booking_id: Id
    user_id: Id
    total: int
    balance: int
    due_date: date
    period_start: date | None = None
    period_end: date | None = None


class InvoiceIssued(Invoice):
    pass


class InvoiceReminder(Invoice):
    days_until_due: int = Field(default=0)


class InvoiceOverdue(Invoice):
    days_overdue: int = 0
    late_fee: int = 0


class InvoicePaid(Invoice):
    amount_paid: int
    receipt: str | None = None


class AccessSuspended(EventData):
    booking_id: Id
    user_id: Id
    unit_id: Id
    balance: int


class AccessRestored(AccessSuspended):
    pass
