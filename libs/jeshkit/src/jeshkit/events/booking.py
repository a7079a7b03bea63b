"""Events published by booking."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from jeshkit.events.base import Day, EventData, Id, Kes, Moment, Text

Plan = Literal["fixed", "monthly"]
OPEN_ENDED = "YYYY-MM-DD; null for an open-ended monthly rental"


class BookingFacts(EventData):
    """The fields BookingCreated and BookingConfirmed both carry."""

    abstract = True
    source = "booking"
    booking_id: Id
    user_id: Id
    unit_id: Id
    start_date: Day
    end_date: Day | None = Field(description=OPEN_ENDED)
    total_price: Kes
    plan: Plan = "fixed"
    monthly_rate: Kes | None = Field(default=None, description="integer Kenya shillings a month; monthly plan only")


class BookingCreated(BookingFacts):
    """A pending booking holds its dates until hold_expires_at."""

    hold_expires_at: Moment


class BookingConfirmed(BookingFacts):
    """A booking was paid and is confirmed."""


class BookingCancelled(EventData):
    """A booking was cancelled by its owner, an admin, or its hold expiring."""

    source = "booking"
    booking_id: Id
    user_id: Id
    unit_id: Id
    start_date: Day
    end_date: Day | None = Field(description=OPEN_ENDED)
    reason: Literal["user", "admin", "expired"]


class UnitReleased(EventData):
    """A cancelled, expired or ended booking freed these dates of a unit."""

    source = "booking"
    booking_id: Id
    unit_id: Id
    start_date: Day
    end_date: Day | None = Field(description="YYYY-MM-DD; null: every date from start_date on")
    reason: Text


class BookingMovedOut(EventData):
    """A customer moved out of a monthly rental; the unit is free from move_out_date."""

    source = "booking"
    booking_id: Id
    user_id: Id
    unit_id: Id
    move_out_date: Day


class RefundRequired(EventData):
    """Money arrived for dates that are no longer free; a refund is owed."""

    source = "booking"
    booking_id: Id
    user_id: Id
    unit_id: Id
    amount: Kes
    payment_id: Id
    receipt: Text | None
    reason: Text
