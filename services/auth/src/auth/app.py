"""create_app(): the one place that wires the auth service."""

from fastapi import FastAPI

from jeshkit.app import create_service_app
from auth.api import router
from auth.handlers import HANDLERS
from auth.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Jesh Storage — auth",
        description="accounts, tokens, admin bootstrap",
        routers=[router],
        handlers=HANDLERS,
    )
