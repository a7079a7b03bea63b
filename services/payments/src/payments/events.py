"""The data of the events payments consumes (until jeshkit.events lands on main, then replaced by it)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore")


class BookingFacts(_Data):
    """BookingCreated / BookingConfirmed / BookingCancelled: what payments keeps of them."""

    booking_id: int
    user_id: int | None = None
    unit_id: int | None = None
    total_price: int | None = None
    hold_expires_at: datetime | None = None
    start_date: date | None = None
    reason: str | None = None


class RefundRequired(_Data):
    booking_id: int
    payment_id: int
    amount: int
    reason: str


class AutopayRequested(_Data):
    invoice_id: int
    booking_id: int
    user_id: int
    amount: int
    phone_number: str
    attempt: int
