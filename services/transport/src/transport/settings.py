"""Transport settings: the shared base plus this service's own knobs."""

from pydantic import Field

from jeshkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "transport"

    # Tariff, integer KES: estimated_cost = base fee + ceil(distance_km * per_km).
    transport_base_fee: int = Field(default=1000, ge=0)
    transport_per_km: int = Field(default=100, ge=0)

    # The booking service's base URL, asked for a booking transport has not heard of (it does not
    # consume BookingCreated: a request's first mention of a booking fetches it).
    booking_url: str = "http://127.0.0.1:8003"
