"""Inventory settings: the shared base plus this service's own knobs."""

from jeshkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "inventory"

    # The booking service's base URL: told at once of a unit created or changed (the next booking follows it).
    booking_url: str = "http://127.0.0.1:8003"
