"""OpenTelemetry traces across HTTP and events: off by default, and then nothing is measured or sent.

On when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and `OTEL_SDK_DISABLED`
is not true: spans are exported by OTLP over HTTP (the exporter reads the other standard `OTEL_EXPORTER_OTLP_*`
variables, e.g. headers; the SDK reads `OTEL_TRACES_SAMPLER*` and `OTEL_RESOURCE_ATTRIBUTES`).

One trace follows a request across services and events (W3C Trace Context):
- every HTTP request is a server span, continuing the caller's `traceparent` (`TracingMiddleware`);
- calls made with the process's HTTP client (peers, Daraja, Pesapal) are client spans and carry `traceparent`
  (`TracingTransport`);
- `stage()` keeps the current `traceparent` with the outbox row, the relay sends it as a NATS message header,
  and the consumer continues the trace around the handler's transaction (`consuming`), so what a handler
  stages belongs to the same trace.
While off, `is_enabled()` is False: no middleware is installed, no transport wraps the client, `traceparent()`
is None and `consuming()` is a no-op context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from jeshkit.settings import ServiceSettings

TRACER = "jeshkit"
HEADER = "traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None  # None: tracing is off


def is_enabled() -> bool:
    return _provider is not None


def use_provider(provider: TracerProvider | None) -> None:
    """Where this process's spans go (None: off). Apps and HTTP clients made from now on trace; tests give a
    provider with an in-memory exporter."""
    global _provider
    _provider = provider


def configure_tracing(settings: ServiceSettings) -> bool:
    """Export spans by OTLP when an endpoint is configured; True when tracing is on in this process."""
    if _provider is not None or settings.otel_sdk_disabled or not (
        settings.otel_exporter_otlp_endpoint or settings.otel_exporter_otlp_traces_endpoint
    ):
        return _provider is not None
    # Imported only when on: a process that does not trace does not load the SDK or the exporter.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: settings.otel_service_name or settings.service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use_provider(provider)
    return True


def tracer() -> trace.Tracer:
    return _provider.get_tracer(TRACER) if _provider is not None else trace.NoOpTracer()


# --- events -----------------------------------------------------------------------------------------------
def traceparent() -> str | None:
    """The current span's W3C traceparent, kept with an outbox row (None when off or outside any span)."""
    if _provider is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(HEADER)


def consuming(headers: Mapping[str, str] | None, *, event_type: str, event_id: str, subject: str,
              consumer: str) -> AbstractContextManager[Any]:
    """A consumer span around applying one event, continuing the trace its `traceparent` header names."""
    if _provider is None:
        return nullcontext()
    parent = _PROPAGATOR.extract(dict(headers or {}))
    return tracer().start_as_current_span(
        f"{event_type} process",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": subject,
            "messaging.message.id": event_id,
            "messaging.consumer.group.name": consumer,
        },
    )


# --- HTTP ---------------------------------------------------------------------------------------------------
# The providers' hooks end in their secret token (/api/payments/hooks/stk/<token>, …/hooks/pesapal/<token>,
# /api/notifications/hooks/sms/<token>): a span shows "{token}" instead, as the route template does.
_HOOK_TOKEN = re.compile(r"^(/api/[a-z]+/hooks/(?:[^/]+/)+)[^/]+(/?)$")


def shown_path(path: str) -> str:
    """The path as a span records it: a hook's token is never exported to the tracing backend."""
    return _HOOK_TOKEN.sub(r"\1{token}\2", path)


class TracingMiddleware:
    """A server span per HTTP request, named by the route template it matched, continuing the caller's trace."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers") or []}
        method = scope.get("method", "")
        with tracer().start_as_current_span(
            method,
            context=_PROPAGATOR.extract(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": shown_path(scope.get("path", ""))},
        ) as span:

            async def send_with_status(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                    if message["status"] >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, send_with_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route is not None:
                    span.set_attribute("http.route", route)
                    span.update_name(f"{method} {route}")


class TracingTransport(httpx.BaseTransport):
    """A client span per outgoing request (peers, Daraja, Pesapal), its traceparent sent along."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with tracer().start_as_current_span(
            request.method,
            kind=SpanKind.CLIENT,
            attributes={"http.request.method": request.method, "server.address": request.url.host,
                        "url.full": str(request.url.copy_with(query=None))},
        ) as span:
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier)
            request.headers.update(carrier)
            response = self._inner.handle_request(request)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response

    def close(self) -> None:
        self._inner.close()

