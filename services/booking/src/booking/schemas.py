"""Request and response models of the booking service (the HTTP contract)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from booking.models import Booking
from jeshkit.inputs import IsoDate
from jeshkit.schemas import UtcTimestamp

MAX_ID = 2**63 - 1


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("Input should be a valid integer")
    return value


# An integer id (a JSON string of digits is accepted too, a boolean is not).
IdInt = Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=MAX_ID)]

BookingStatus = Literal["pending", "confirmed", "cancelled"]
PaymentStatus = Literal["pending", "success", "failed"]
Plan = Literal["fixed", "monthly"]


class BookingCreate(BaseModel):
    """POST /api/bookings. A `total_price` sent by the client is ignored: the server computes it.

    `plan` absent: `fixed` (the compat booking, `end_date` required). `monthly`: `end_date` optional."""

    model_config = ConfigDict(extra="ignore")

    unit_id: IdInt
    start_date: IsoDate
    end_date: IsoDate | None = None
    plan: Plan = "fixed"


class BookingForCustomer(BookingCreate):
    """POST /api/bookings/for-customer (admin): the same booking, made by an operator for the customer `user_id`."""

    user_id: IdInt


class MoveOut(BaseModel):
    """POST /api/bookings/{id}/move-out."""

    move_out_date: IsoDate


class RefundOut(BaseModel):
    payment_id: int | None
    amount: int
    receipt: str | None
    reason: str
    status: Literal["required", "paid"] = Field(description="`paid` once payments has paid it back (RefundPaid)")
    created_at: UtcTimestamp


class BookingOut(BaseModel):
    """The booking object. `hold_expires_at` only while pending."""

    id: int
    user_id: int
    unit_id: int
    start_date: date
    end_date: date | None = Field(description="null: an open-ended monthly rental")
    total_price: int = Field(description="fixed: the whole booking; monthly: the first month's rent")
    status: BookingStatus
    payment_status: PaymentStatus
    created_at: UtcTimestamp
    plan: Plan = "fixed"
    monthly_rate: int | None = Field(
        default=None, description="Monthly rentals only: the rent, fixed at booking.",
        exclude_if=lambda value: value is None,
    )
    hold_expires_at: UtcTimestamp | None = Field(
        default=None, description="Only while the booking is pending.", exclude_if=lambda value: value is None
    )

    @staticmethod
    def of(booking: Booking, *, admin: bool) -> BookingOut | AdminBookingOut:
        """The booking as the caller may see it (an admin also sees its refunds)."""
        fields: dict[str, Any] = {
            "id": booking.id,
            "user_id": booking.user_id,
            "unit_id": booking.unit_id,
            "start_date": booking.start_date,
            "end_date": booking.end_date,
            "total_price": booking.total_price,
            "status": booking.status,
            "payment_status": booking.payment_status,
            "created_at": booking.created_at,
            "plan": booking.plan,
            "monthly_rate": booking.monthly_rate,
            "hold_expires_at": booking.hold_expires_at if booking.status == "pending" else None,
        }
        if not admin:
            return BookingOut(**fields)
        refunds = [RefundOut.model_validate(r, from_attributes=True) for r in booking.refunds]
        return AdminBookingOut(
            **fields,
            refund_status="required" if any(r.status == "required" for r in refunds) else None,
            refunds=refunds,
        )


class AdminBookingOut(BookingOut):
    """The booking object as an admin sees it."""

    refund_status: Literal["required"] | None = Field(
        description="`required` while money that arrived must still go back."
    )
    refunds: list[RefundOut] = Field(description="The refunds to make.")


# What the booking routes answer: a user's view, or an admin's (with refunds).
AnyBookingOut = BookingOut | AdminBookingOut
