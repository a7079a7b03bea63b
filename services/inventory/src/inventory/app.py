"""create_app(): the one place that wires the inventory service."""

from fastapi import FastAPI

from inventory.api import internal_router, router
from inventory.handlers import HANDLERS
from inventory.service import UNITS_CHANGED
from inventory.settings import Settings
from jeshkit.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Jesh Storage — inventory",
        description="the unit catalogue, its status and availability",
        routers=[router, internal_router],
        handlers=HANDLERS,
        cache_channel=UNITS_CHANGED,
        follows=["booking"],  # an admin's unit change counts for the next booking at once (api.py)
    )
