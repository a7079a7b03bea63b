"""Headers the gateway adds: CORS (preflight included), security headers, HSTS only over HTTPS; and the
internal entry point (ping, metrics) kept off the public one."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

ALLOWED = "http://localhost:5173"


def preflight(client: httpx.Client, origin: str, path: str = "/api/bookings") -> httpx.Response:
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "authorization,content-type",
                                         "X-Request-Id": f"preflight-{uuid.uuid4().hex[:8]}"})


def test_cors_for_the_configured_origins_preflight_included(start_gateway: Any) -> None:
    gateway = start_gateway(["inventory"])
    client = gateway.client()

    for origin in ("http://localhost:3000", "http://localhost:5173"):  # the React dev servers, by default
        r = preflight(client, origin)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == origin
        assert "POST" in r.headers["access-control-allow-methods"]
        allowed_headers = r.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed_headers and "content-type" in allowed_headers
        assert not gateway.access_entries(r.request.headers["x-request-id"])[0].get("ServiceURL")

    refused = preflight(client, "https://evil.example")
    assert "access-control-allow-origin" not in refused.headers

    simple = client.get("/api/units", headers={"Origin": ALLOWED})
    assert simple.status_code == 200
    assert simple.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in client.get("/api/units", headers={"Origin": "https://evil.example"}).headers

    # A refusal is readable by the frontend too.
    not_found = client.get("/api/nothing-here", headers={"Origin": ALLOWED})
    assert not_found.status_code == 404
    assert not_found.headers["access-control-allow-origin"] == ALLOWED


def test_the_cors_origins_are_configurable(start_gateway: Any) -> None:
    gateway = start_gateway(["inventory"], JESH_CORS_ORIGINS="https://app.jesh.example, https://admin.jesh.example")
    client = gateway.client()
    assert preflight(client, "https://admin.jesh.example").headers["access-control-allow-origin"] == (
        "https://admin.jesh.example"
    )
    assert "access-control-allow-origin" not in preflight(client, ALLOWED).headers


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_security_headers_and_hsts_only_over_https(start_gateway: Any) -> None:
    gateway = start_gateway(["inventory"])
    client = gateway.client()

    answered = client.get("/api/units")
    assert answered.status_code == 200
    assert_security_headers(answered)
    assert_security_headers(client.get("/api/nothing-here"))
    assert_security_headers(client.post("/api/units", content=b"x" * (1024 * 1024 + 1)))

    # Plain HTTP: no Strict-Transport-Security (a browser ignores it there, and it must not pin plain HTTP).
    assert "strict-transport-security" not in answered.headers
    # HTTPS terminated by a trusted proxy in front (127.0.0.1 is trusted): HSTS.
    over_https = client.get("/api/units", headers={"X-Forwarded-Proto": "https"})
    assert over_https.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    # Anybody else claiming HTTPS is not believed.
    liar = gateway.client(source_ip="127.0.0.2")
    assert "strict-transport-security" not in liar.get("/api/units", headers={"X-Forwarded-Proto": "https"}).headers


def test_ping_and_metrics_are_on_the_internal_entry_point_only(start_gateway: Any, envelope: Any) -> None:
    gateway = start_gateway(["inventory"])
    client = gateway.client()
    assert client.get("/api/units").status_code == 200

    ping = httpx.get(f"{gateway.internal_url}/ping")
    assert ping.status_code == 200 and ping.text == "OK"
    metrics = httpx.get(f"{gateway.internal_url}/metrics")
    assert metrics.status_code == 200
    assert 'traefik_entrypoint_requests_total{code="200",entrypoint="web"' in metrics.text
    assert 'service="inventory-replicas@file"' in metrics.text

    envelope(client.get("/ping"), 404)
    envelope(client.get("/metrics"), 404)
