"""The documents of the internal HTTP API (service to service, never routed by the gateway), shared by the
service that answers and the services that ask (through `jeshkit.peers.Peer.get_as` and `fetch_on_miss`)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from jeshkit.events.auth import UserRegistered
from jeshkit.events.base import Flag, Moment
from jeshkit.events.inventory import UnitFacts


class InternalUser(UserRegistered):
    """GET /internal/users/{user_id} (auth): the account's facts as UserRegistered gives them (its fields, one
    definition), and whether an operator closed it (an operator books for an open account only). Not an event."""

    abstract = True
    # An added field: False from an auth service that does not send it yet.
    closed: Flag = False

# GET /internal/units/{unit_id} (inventory): the unit's facts, as in UnitCreated/UnitUpdated.
InternalUnit = UnitFacts


class InternalBooking(BaseModel):
    """GET /internal/bookings/{booking_id} (booking): what peers (payments, transport) need to know of a booking."""

    model_config = ConfigDict(extra="ignore")

    booking_id: int
    user_id: int
    unit_id: int
    start_date: date
    end_date: date | None
    total_price: int
    status: str  # pending, confirmed, cancelled (a new status must not break its readers)
    payment_status: str
    hold_expires_at: Moment | None
    # Why a cancelled booking was (`user`, `admin`, `expired`), None otherwise: a late payment confirms again only a
    # booking cancelled as expired, and a peer that learns of the booking here must know which (transport). An added
    # field: None from a booking service that does not send it yet.
    cancel_reason: str | None = None


class Hold(BaseModel):
    """One thing a service still needs a customer's personal data for (a live booking, money in flight, a refund
    owed, an open invoice, a truck still to come): auth erases no account while any is left."""

    model_config = ConfigDict(extra="ignore")

    kind: Literal["booking", "payment", "refund", "invoice", "transport"]
    id: int
    detail: str  # one sentence for the operator, e.g. "booking 12 is confirmed until 2027-01-31"


class UserHolds(BaseModel):
    """GET /internal/users/{user_id}/holds (booking, payments, billing, transport): what that service still needs
    the person for; an account it does not know has none (200 with an empty list, never 404)."""

    model_config = ConfigDict(extra="ignore")

    holds: list[Hold]
