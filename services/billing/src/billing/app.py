"""create_app(): the one place that wires the billing service."""

from fastapi import FastAPI

from billing import daily, erasure
from billing.api import (
    billing_router,
    internal_router,
    invoices_router,
    rules_from,
    test_clock_router,
)
from billing.handlers import make_handlers
from billing.settings import Settings
from jeshkit.app import create_service_app
from jeshkit.erasure import holds_router
from jeshkit.jobs import PeriodicJob


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    rules = rules_from(settings)
    daily_job = PeriodicJob(
        name="bill_rentals",
        interval=settings.billing_job_interval_seconds,
        run=lambda session_factory: daily.run_daily_job(
            session_factory=session_factory,
            rules=rules,
            run_hour=settings.billing_run_hour,
            batch_size=settings.billing_job_batch_size,
        ),
    )
    routers = [invoices_router, billing_router, internal_router, holds_router(erasure.holds)]
    if settings.environment != "production":
        routers.append(test_clock_router)  # the test clock does not exist in production
    return create_service_app(
        settings,
        title="Jesh Storage — billing",
        description="monthly invoices, payments applied oldest first, the delinquency ladder, reports",
        routers=routers,
        handlers=make_handlers(rules),
        jobs=[daily_job],
        api_prefix="/api/billing",  # the admin's parked messages: /api/billing/admin/dead-letters
    )
