"""Inventory settings: the shared base plus this service's own knobs."""

from jeshkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "inventory"
