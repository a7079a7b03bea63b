"""The event data billing reads and writes, in ONE place (until jeshkit.events lands on main; then this module
becomes a re-export of it). Class names are the event types; fields follow docs/interfaces (contracts/events)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from jeshkit import outbox
from jeshkit.consumer import Handler
from jeshkit.outbox import Event


class EventData(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- consumed ---------------------------------------------------------------------------------------
class BookingConfirmed(EventData):
    booking_id: int
    user_id: int
    unit_id: int
    start_date: date
    end_date: date | None = None
    total_price: int
    plan: Literal["fixed", "monthly"] = "fixed"
    monthly_rate: int | None = None


class BookingCancelled(EventData):
    booking_id: int
    user_id: int
    unit_id: int
    reason: str


class BookingMovedOut(EventData):
    booking_id: int
    user_id: int
    unit_id: int
    move_out_date: date


class PaymentSucceeded(EventData):
    payment_id: int
    booking_id: int
    user_id: int
    amount: int
    method: str
    receipt: str | None = None
    paid_at: datetime
    invoice_id: int | None = None


class RefundPaid(EventData):
    refund_id: int
    booking_id: int
    invoice_id: int | None = None
    user_id: int
    amount: int
    method: str
    receipt: str | None = None


class UserRegistered(EventData):
    user_id: int
    email: str | None = None
    name: str
    phone: str | None = None


class UserUpdated(UserRegistered):
    pass


class UnitCreated(EventData):
    unit_id: int
    unit_number: str


class UnitUpdated(UnitCreated):
    pass


# --- published ----------------------------------------------------------------------------------------
class InvoiceFacts(EventData):
    invoice_id: int
    number: str
    booking_id: int
    user_id: int
    total: int
    balance: int
    due_date: date
    period_start: date
    period_end: date


class InvoiceIssued(InvoiceFacts):
    pass


class InvoiceReminder(InvoiceFacts):
    days_until_due: int


class InvoiceOverdue(InvoiceFacts):
    days_overdue: int
    late_fee: int


class LateFeeCharged(InvoiceFacts):
    amount: int


class InvoicePaid(InvoiceFacts):
    amount_paid: int
    receipt: str | None


class AccessFacts(EventData):
    booking_id: int
    user_id: int
    unit_id: int
    balance: int


class AccessSuspended(AccessFacts):
    pass


class AccessRestored(AccessFacts):
    pass


class AutopayRequested(EventData):
    invoice_id: int
    booking_id: int
    user_id: int
    amount: int
    phone_number: str
    attempt: int


def stage(session: Session, data: EventData) -> None:
    """Write the event into the outbox in the caller's transaction (its type is the class name)."""
    outbox.stage(session, type(data).__name__, data.model_dump(mode="json"))


M = TypeVar("M", bound=EventData)


def handler(model: type[M], apply: Callable[[Session, M, Event], None]) -> tuple[str, Handler]:
    """(event type, consumer handler) that validates the data with `model` before `apply` runs."""

    def run(session: Session, event: Event) -> None:
        apply(session, model.model_validate(event.data), event)

    return model.__name__, run


