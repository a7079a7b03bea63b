"""create_app(): the one place that wires the booking service."""

from fastapi import FastAPI

from jeshkit.app import create_service_app
from booking.api import router
from booking.handlers import HANDLERS
from booking.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Jesh Storage — booking",
        description="bookings, holds, expiry, cancellation",
        routers=[router],
        handlers=HANDLERS,
    )
