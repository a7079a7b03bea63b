"""A server span records the request's path, except a provider hook's secret token: "{token}" instead."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jeshkit import tracing


async def ok(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


@pytest.mark.parametrize(("path", "recorded"), [
    ("/api/payments/hooks/stk/s3cret-TOKEN", "/api/payments/hooks/stk/{token}"),
    ("/api/payments/hooks/b2c/result/s3cret-TOKEN", "/api/payments/hooks/b2c/result/{token}"),
    ("/api/payments/hooks/pesapal/s3cret-TOKEN/", "/api/payments/hooks/pesapal/{token}/"),
    ("/api/notifications/hooks/sms/s3cret-TOKEN", "/api/notifications/hooks/sms/{token}"),
    ("/api/units/12", "/api/units/12"),
    ("/api/bookings/", "/api/bookings/"),
])
def test_a_hooks_token_never_reaches_the_tracing_backend(spans: InMemorySpanExporter, path: str,
                                                        recorded: str) -> None:
    app = tracing.TracingMiddleware(Starlette(routes=[Route("/{rest:path}", ok, methods=["GET", "POST"])]))
    with TestClient(app) as client:
        assert client.post(path).status_code == 200
    [span] = spans.get_finished_spans()
    assert (span.attributes or {})["url.path"] == recorded
    assert "s3cret" not in repr(dict(span.attributes or {})) + span.name
