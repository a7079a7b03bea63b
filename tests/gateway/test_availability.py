"""Health-checked load balancing: replicas share the load, a stopped replica is left out without a failed
request, a service with no replica left is a 503 envelope, and it comes back when a replica returns."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from jeshstack.testing import wait_for


def served_by(gateway: Any, client: httpx.Client, method: str = "GET") -> tuple[httpx.Response, str | None]:
    request_id = f"lb-{uuid.uuid4().hex[:8]}"
    r = client.request(method, "/api/units", headers={"X-Request-Id": request_id})
    entries = gateway.access_entries(request_id)
    return r, (entries[0].get("ServiceURL") if entries else None)


def test_replicas_a_stopped_service_answers_503_json_and_recovers(start_gateway: Any, envelope: Any) -> None:
    # auth stays up: the gateway's own refusals are rendered by any live service.
    gateway = start_gateway(["inventory", "auth"], replicas={"inventory": 2})
    first, second = gateway.replicas["inventory"]
    client = gateway.client()

    seen = set()
    for _ in range(6):
        r, url = served_by(gateway, client)
        assert r.status_code == 200, r.text
        seen.add(url)
    assert seen == {first.url, second.url}

    # One replica stops: not one request fails; the other one serves them all. A POST too: a connection
    # refused means the request was never sent, so it goes to the next replica (no token: 401 from it).
    first.stop()
    for method in ["GET", "POST"] * 4:
        r, url = served_by(gateway, client, method)
        assert r.status_code == (200 if method == "GET" else 401), r.text
        assert url == second.url

    # No replica left: 503 in the JSON envelope (never a plain-text proxy error meanwhile).
    second.stop()

    def unavailable() -> bool:
        r = client.get("/api/units")
        assert r.headers["content-type"].startswith("application/json"), (r.status_code, r.text)
        return r.status_code == 503

    wait_for(unavailable, timeout=10, what="the gateway to answer 503")
    assert envelope(client.get("/api/units"), 503)["message"] == "Service unavailable, please retry"

    # A replica comes back: so does the service.
    second.start()
    wait_for(lambda: client.get("/api/units").status_code == 200, timeout=15, what="the service to be back")
    r, url = served_by(gateway, client)
    assert r.status_code == 200 and url == second.url
