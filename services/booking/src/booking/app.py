"""create_app(): the one place that wires the booking service."""

from fastapi import FastAPI

from booking import service
from booking.api import internal_router, router
from booking.handlers import HANDLERS
from booking.settings import Settings
from jeshkit.app import create_service_app
from jeshkit.erasure import holds_router
from jeshkit.jobs import PeriodicJob


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    release_expired_holds = PeriodicJob(
        name="release_expired_holds",
        interval=settings.hold_sweep_interval_seconds,
        run=lambda session_factory: service.release_expired_holds(
            session_factory=session_factory, batch_size=settings.hold_sweep_batch_size
        ),
    )
    return create_service_app(
        settings,
        title="Jesh Storage — booking",
        description="bookings, holds, expiry, cancellation",
        routers=[router, internal_router, holds_router(service.live_bookings)],
        handlers=HANDLERS,
        jobs=[release_expired_holds],
        follows=["inventory"],  # a booking, a cancellation, a move-out shows in the unit at once (api.py)
    )
