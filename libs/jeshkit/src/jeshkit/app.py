"""create_service_app(): the one wiring point every service's create_app() calls."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import text

from jeshkit.audit_api import audit_router
from jeshkit.cache import CachedGetMiddleware, ResponseCache
from jeshkit.consumer import Handlers
from jeshkit.db import make_engine, make_session_factory
from jeshkit.deadletters import dead_letter_router
from jeshkit.errors import error_response, install_error_handlers
from jeshkit.jobs import PeriodicJob
from jeshkit.logs import configure_logging
from jeshkit.messaging import Messaging
from jeshkit.metrics import MetricsMiddleware, ScrapeReader, metrics_router
from jeshkit.middleware import RequestMiddleware
from jeshkit.openapi import install_openapi
from jeshkit.peers import make_http_client
from jeshkit.security import TokenVerifier
from jeshkit.settings import ServiceSettings
from jeshkit.tracing import TracingMiddleware, configure_tracing

log = logging.getLogger("jeshkit.app")

def freeze_start_up_heap() -> None:
    """What start-up made lives as long as the process: after one last collection, it is taken out of the cyclic
    garbage collector's sight (`gc.freeze()`), so that a full collection under load traverses only what came since.
    A full collection holds the GIL, stalling every request and consumer of the process, for as long as it takes to
    traverse the heap: 62-72 ms for a service's start-up heap on the development machine, under 0.01 ms once frozen
    (bench/gc_pause.py); in a write run, booking's full collections stalled it 82-190 ms each. Objects frozen are
    still freed by reference counting; only cycles among them are never collected. Once per process: a test run that
    starts many apps in one process pays the collection once and freezes no test's app but the first one's."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()


NO_FASTAPI_TELEMETRY: TelemetryConfig = {
    "tracing": False, "metrics": False, "logs": False, "operation_spans": False, "auto_configure": False,
}


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter],
    handlers: Handlers | None = None,
    jobs: Sequence[PeriodicJob] = (),
    on_startup: Callable[[FastAPI], None] | None = None,
    description: str = "",
    cache_channel: str | None = None,
    api_prefix: str | None = None,
    scrape_readers: Sequence[ScrapeReader] = (),
    follows: Sequence[str] = (),
) -> FastAPI:
    """Build a service: envelope errors, request ids, traces, JWT, DB, NATS, relay, consumer, jobs, health, and
    the admin's parked-message and audit-log routes under `api_prefix` (default: the first router's `/api/...`
    prefix). `scrape_readers` read the service's own gauges from its database at each metrics scrape
    (jeshkit.metrics.ScrapeReader). `follows`: the services whose consumers a request may wait for right after its
    commit (jeshkit.applied.wait)."""
    configure_logging(settings.service_name, settings.log_level)
    tracing = configure_tracing(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            pool_timeout=settings.db_pool_timeout_seconds,
            application_name=settings.service_name,
        )
        session_factory = make_session_factory(engine)
        session_factory.kw["info"] = {
            "service": settings.service_name,
            "subject_prefix": settings.events_subject_prefix,
        }
        app.state.engine = engine
        app.state.session_factory = session_factory
        app.state.http = make_http_client()
        messaging = Messaging(settings, engine, session_factory, handlers=handlers, jobs=list(jobs),
                              ended_sessions=app.state.token_verifier.ended_sessions, follows=follows)
        app.state.messaging = messaging
        if on_startup is not None:
            await asyncio.to_thread(on_startup, app)
        await messaging.start(workers=settings.run_workers)
        cache_task = None
        if cache_channel is not None:
            app.state.response_cache = ResponseCache(engine, cache_channel)
            messaging.after_applied = app.state.response_cache.invalidate
            cache_task = asyncio.create_task(app.state.response_cache.run(), name="response-cache")
        freeze_start_up_heap()
        log.info("%s started", settings.service_name)
        try:
            yield
        finally:
            if cache_task is not None:
                cache_task.cancel()
                await asyncio.gather(cache_task, return_exceptions=True)
                app.state.response_cache.close()
            await messaging.stop()
            app.state.http.close()
            engine.dispose()

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url="/docs",
        openapi_url="/openapi.json",
        # FastAPI's own OpenTelemetry (spans, metrics, logs per request) is off: jeshkit.tracing makes the spans and
        # jeshkit.metrics the Prometheus metrics; on, it would also double every span once a global provider is set.
        telemetry=NO_FASTAPI_TELEMETRY,
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(
        settings.auth_jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    app.state.event_handlers = dict(handlers or {})
    app.state.scrape_readers = tuple(scrape_readers)
    install_error_handlers(app)
    install_openapi(app)
    if cache_channel is not None:
        app.add_middleware(CachedGetMiddleware)  # innermost of ours: after the slash and request id
    app.add_middleware(MetricsMiddleware)  # outside the cache, inside the slash rewrite: sees the matched route
    if tracing:
        app.add_middleware(TracingMiddleware)  # likewise: names each span by its route
    app.add_middleware(RequestMiddleware)  # request id, input sanity, trailing slash: one layer, outermost of ours
    app.include_router(health_router())
    app.include_router(metrics_router())
    prefix = api_prefix or next((r.prefix for r in routers if r.prefix.startswith("/api/")), None)
    if prefix is not None:
        app.include_router(dead_letter_router(prefix))  # before the service's own "/{id}/..." routes
        app.include_router(audit_router(prefix))
    for router in routers:
        app.include_router(router)
    return app


def health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:  # async: no thread hop for the gateway's frequent health checks
        return {"status": "ok"}

    @router.get("/readyz")
    def readyz(request: Request) -> JSONResponse:
        problems = []
        try:
            with request.app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001
            problems.append("database")
        if not request.app.state.messaging.is_connected:
            problems.append("nats")
        if problems:
            return error_response(503, "Not ready: " + ", ".join(problems) + " unreachable")
        return JSONResponse({"status": "ready"})

    @router.get("/_errors/{status_code}")
    def gateway_error_page(status_code: int, retry_after: int | None = None) -> JSONResponse:
        # The gateway's errors middleware renders its own refusals (404, 413, 429, 502, 503) with this;
        # it drops the refused answer's headers, so the 429's Retry-After comes back as a query parameter.
        messages = {
            404: "Not found",
            413: "Request body too large",
            429: "Too many requests, please slow down",
            502: "Service unavailable, please retry",
            503: "Service unavailable, please retry",
            504: "Service timed out, please retry",
        }
        code = status_code if status_code in messages else 502
        headers = {"Retry-After": str(min(max(retry_after or 1, 1), 3600))} if code == 429 else None
        return error_response(code, messages[code], headers=headers)

    return router

