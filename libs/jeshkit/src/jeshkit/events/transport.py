"""Events published by transport."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from jeshkit.events.base import EventData, Id

Status = Literal["requested", "scheduled", "in_progress", "completed", "cancelled"]


class TransportStatusChanged(EventData):
    """A transport request was created or moved to a new status."""

    source = "transport"
    request_id: Id
    user_id: Id
    booking_id: Id | None
    status: Status
    previous_status: Status | None = Field(description="null when the request was just created")
