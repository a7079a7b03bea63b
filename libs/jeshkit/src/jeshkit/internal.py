"""The documents of the internal HTTP API (service to service, never routed by the gateway), shared by the
service that answers and the services that ask (through `jeshkit.peers.Peer.get_as` and `fetch_on_miss`)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from jeshkit.events.auth import UserRegistered
from jeshkit.events.base import Moment
from jeshkit.events.inventory import UnitFacts

# GET /internal/users/{user_id} (auth): the account's contact facts, as in UserRegistered.
InternalUser = UserRegistered

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
