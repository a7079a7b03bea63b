"""Prometheus metrics of a service on GET /metrics (port 8000; the gateway never routes it).

What every service exports: requests by route and status, latency histograms, outbox backlog and the age of
the oldest unsent row, the durable consumer's lag (JetStream num_pending / ack pending / redelivered),
parked messages (dead_letter rows) and readiness. The last five are read when Prometheus scrapes.

A service adds its own with the same helpers, once, at import time (names get the `jesh_` prefix), in its module
`<service>.metrics` (where tools/deploy/monitoring_check.py finds them for the alert rules):

    from jeshkit import metrics
    INVOICES_OVERDUE = metrics.counter("invoices_overdue", "Invoices that went overdue")
    INVOICES_OVERDUE.inc()

and what it reads from its own database when Prometheus scrapes (work waiting for a person, say) with a
ScrapeReader, a function of a connection that sets its gauges, given to create_service_app(scrape_readers=...).

Payments' families are declared here because the alert rules use them (deploy/monitoring/alerts.yml):
payments increments PAYMENTS and times DARAJA_REQUEST_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text

log = logging.getLogger("jeshkit.metrics")

METRICS_PATH = "/metrics"
PREFIX = "jesh_"
REGISTRY = CollectorRegistry(auto_describe=True)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def counter(name: str, documentation: str, labelnames: Sequence[str] = ()) -> Counter:
    """A counter `jesh_<name>_total` in the service's registry."""
    return Counter(PREFIX + name, documentation, labelnames, registry=REGISTRY)


def gauge(name: str, documentation: str, labelnames: Sequence[str] = ()) -> Gauge:
    return Gauge(PREFIX + name, documentation, labelnames, registry=REGISTRY)


def histogram(
    name: str, documentation: str, labelnames: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
) -> Histogram:
    return Histogram(PREFIX + name, documentation, labelnames, buckets=buckets, registry=REGISTRY)


# --- every service ----------------------------------------------------------------------------------------
HTTP_REQUESTS = counter("http_requests", "HTTP requests answered, by route template and status",
                        ["method", "route", "status"])
HTTP_SECONDS = histogram("http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"])
OUTBOX_BACKLOG = gauge("outbox_backlog", "Outbox rows not yet published to NATS")
OUTBOX_OLDEST_AGE = gauge("outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished outbox row (0: none)")
CONSUMER_PENDING = gauge("consumer_pending_messages", "Messages of the stream the durable consumer has not received")
CONSUMER_ACK_PENDING = gauge("consumer_ack_pending_messages", "Messages delivered to the consumer, not yet acked")
CONSUMER_REDELIVERED = gauge("consumer_redelivered_messages", "Messages being redelivered to the consumer")
PARKED = gauge("consumer_parked_messages", "Events parked in dead_letter after failing (each needs a look)")
READY = gauge("ready", "1 when the database and NATS are reachable (as /readyz), else 0")
SCRAPE_ERRORS = counter("metrics_scrape_errors", "Failures reading the scrape-time gauges", ["source"])

# --- payments (declared once here; payments counts them) -------------------------------------------------
PAYMENTS = counter("payments", "Payments settled, by method (mpesa, card) and outcome (succeeded, failed)",
                   ["method", "outcome"])
DARAJA_REQUEST_SECONDS = histogram("daraja_request_duration_seconds",
                                   "Daraja API calls, by operation (oauth, stkpush, stkquery) and outcome (ok, error)",
                                   ["operation", "outcome"])


class MetricsMiddleware:
    """Counts and times every HTTP request by the route template it matched (not the raw path)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        # The label children by (method, route, status): prometheus_client's labels() lookup (a lock, label
        # checks) once per combination, not twice per request. Routes are templates, so this stays small.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _child(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_SECONDS.labels(method, route))
            self._children[key] = child
        return child

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", None)
            if route is None:  # answered before routing: a cached GET (its path has no ids), or no route
                route = scope.get("path", "") if status < 400 else "unmatched"
            requests, seconds = self._child(scope.get("method", ""), route, status)
            requests.inc()
            seconds.observe(time.perf_counter() - started)


# A service's own scrape-time reading: given the connection the kit's gauges are read with (in the same worker
# thread), it reads the service's database and sets the service's gauges (create_service_app(scrape_readers=...)).
ScrapeReader = Callable[[Any], None]


def _read_database(engine: Any, readers: Sequence[ScrapeReader]) -> tuple[int, float, int]:
    with engine.connect() as conn:
        backlog, age = conn.execute(text(
            "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) "
            "FROM outbox WHERE sent_at IS NULL"
        )).one()
        parked = conn.execute(text("SELECT count(*) FROM dead_letter")).scalar_one()
        for reader in readers:
            reader(conn)
    return int(backlog), float(age), int(parked)


async def refresh(app: Any) -> None:
    """Read the scrape-time gauges: outbox and dead_letter from the database, consumer lag from JetStream."""
    state, ready = app.state, True
    try:
        backlog, age, parked = await asyncio.wait_for(
            asyncio.to_thread(_read_database, state.engine, state.scrape_readers), 5)
        OUTBOX_BACKLOG.set(backlog)
        OUTBOX_OLDEST_AGE.set(age)
        PARKED.set(parked)
    except Exception as exc:  # noqa: BLE001
        ready = False
        SCRAPE_ERRORS.labels("database").inc()
        log.warning("metrics: database gauges unavailable: %s", exc)
    messaging = state.messaging
    if not messaging.is_connected:
        ready = False
    else:
        settings = state.settings
        try:
            info = await asyncio.wait_for(
                messaging.jetstream().consumer_info(settings.events_stream, settings.service_name), 3
            )
            CONSUMER_PENDING.set(info.num_pending or 0)
            CONSUMER_ACK_PENDING.set(info.num_ack_pending or 0)
            CONSUMER_REDELIVERED.set(info.num_redelivered or 0)
        except Exception as exc:  # noqa: BLE001  (a service without handlers has no consumer)
            if "not found" not in str(exc).lower():
                SCRAPE_ERRORS.labels("nats").inc()
                log.warning("metrics: consumer gauges unavailable: %s", exc)
    READY.set(1 if ready else 0)


def metrics_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(METRICS_PATH)
    async def metrics(request: Request) -> Response:
        await refresh(request.app)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


def metric_names() -> set[str]:
    """Every sample name the registry can export (counters' _total, histograms' _bucket/_sum/_count...)."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
                    "gauge": ("",)}.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names
