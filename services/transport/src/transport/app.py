"""create_app(): the one place that wires the transport service."""

from fastapi import FastAPI

from jeshkit.app import create_service_app
from jeshkit.erasure import holds_router
from transport import service
from transport.api import router
from transport.handlers import HANDLERS
from transport.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Jesh Storage — transport",
        description="pickup and delivery requests",
        routers=[router, holds_router(service.open_requests)],
        handlers=HANDLERS,
    )
