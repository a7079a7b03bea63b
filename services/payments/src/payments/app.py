"""create_app(): the one place that wires the payments service."""

from fastapi import FastAPI

from jeshkit.app import create_service_app
from payments.api import router
from payments.handlers import HANDLERS
from payments.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Jesh Storage — payments",
        description="M-PESA STK Push through Daraja",
        routers=[router],
        handlers=HANDLERS,
    )
