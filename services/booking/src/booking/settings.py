"""Booking settings: the shared base plus this service's own knobs."""

from pydantic import Field

from jeshkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "booking"

    # Base URL of the inventory service, asked for a unit this service has not heard of yet.
    inventory_url: str = "http://127.0.0.1:8002"
    # How long a new, unpaid booking holds its dates (BOOKING_HOLD_SECONDS).
    booking_hold_seconds: int = Field(default=900, gt=0)
    # How often the release_expired_holds job looks for expired holds, and how many it takes per round.
    hold_sweep_interval_seconds: float = Field(default=2.0, gt=0)
    hold_sweep_batch_size: int = Field(default=200, gt=0)
