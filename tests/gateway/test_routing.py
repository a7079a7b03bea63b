"""Routes: each /api prefix reaches its own service, path unchanged; anything else is the 404 envelope."""

from __future__ import annotations

import uuid
from typing import Any

from jeshstack.gateway import SERVICES

# A contract route of each service, asked with a method it does not accept: only the service owning that
# exact path can answer 405 (a stripped or misrouted path would be a 404).
WRONG_METHOD = {
    "auth": ("GET", "/api/auth/refresh"),
    "inventory": ("DELETE", "/api/units"),
    "booking": ("DELETE", "/api/bookings"),
    "payments": ("GET", "/api/payments/mpesa/initiate"),
    "transport": ("DELETE", "/api/transport-requests"),
    "billing": ("DELETE", "/api/invoices"),
    "notifications": ("DELETE", "/api/notifications"),
}


def test_each_prefix_reaches_its_own_service_with_the_path_unchanged(start_gateway: Any, envelope: Any) -> None:
    gateway = start_gateway(SERVICES)
    client = gateway.client()
    for service, (method, path) in WRONG_METHOD.items():
        request_id = f"routing-{service}-{uuid.uuid4().hex[:8]}"
        r = client.request(method, path, headers={"X-Request-Id": request_id})
        assert envelope(r, 405)["message"] == "Method not allowed"
        assert r.headers["x-request-id"] == request_id  # passed on to the service, which echoed it

        (entry,) = gateway.access_entries(request_id)
        # GET and HEAD take the service's reads router (no body-limit: the answer is not held in memory).
        assert entry["RouterName"] == (f"{service}-reads@file" if method in ("GET", "HEAD") else f"{service}@file")
        assert entry["ServiceURL"] == gateway.replicas[service][0].url
        assert entry["OriginStatus"] == 405
        assert entry["downstream_X-Request-Id"] == request_id


def test_billing_owns_its_prefixes_but_an_invoice_payment_goes_to_payments(start_gateway: Any) -> None:
    gateway = start_gateway(["billing", "payments"])
    client = gateway.client()
    for method, path, router, service in (
        ("GET", "/api/billing/rentals/1", "billing-reads@file", "billing"),
        ("GET", "/api/invoices/1", "billing-reads@file", "billing"),
        ("GET", "/api/invoices/1/pay", "billing-reads@file", "billing"),  # only POST .../pay is a payment
        ("DELETE", "/api/invoices/1", "billing@file", "billing"),
        ("POST", "/api/invoices/1/pay", "invoice-pay@file", "payments"),
        ("POST", "/api/invoices/1/pay/", "invoice-pay@file", "payments"),
    ):
        request_id = f"billing-{uuid.uuid4().hex[:8]}"
        client.request(method, path, headers={"X-Request-Id": request_id})
        (entry,) = gateway.access_entries(request_id)
        assert (entry["RouterName"], entry["ServiceURL"]) == (router, gateway.replicas[service][0].url), path


def test_the_access_log_is_json_without_credentials(start_gateway: Any) -> None:
    gateway = start_gateway(["inventory"])
    request_id = f"log-{uuid.uuid4().hex[:8]}"
    r = gateway.client().get("/api/units", headers={"X-Request-Id": request_id,
                                                    "Authorization": "Bearer not-for-the-log"})
    assert r.status_code == 200, r.text
    (entry,) = gateway.access_entries(request_id)  # every line parsed as JSON
    assert entry["RequestMethod"] == "GET" and entry["RequestPath"] == "/api/units"
    assert entry["DownstreamStatus"] == 200 and isinstance(entry["Duration"], int)
    assert "not-for-the-log" not in gateway.access_log.read_text()


def test_a_request_without_x_request_id_gets_one(start_gateway: Any) -> None:
    gateway = start_gateway(["inventory"])
    first = gateway.client().get("/api/units")
    second = gateway.client().get("/api/units")
    assert first.status_code == second.status_code == 200
    assert first.headers["x-request-id"] and second.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_unknown_paths_are_a_404_envelope_and_never_reach_a_service(start_gateway: Any, envelope: Any) -> None:
    gateway = start_gateway(["inventory", "auth"])
    client = gateway.client()
    unknown = [
        ("GET", "/api/nothing-here"),
        ("POST", "/api/nothing-here"),
        ("GET", "/api/unitsx"),            # a look-alike of a routed prefix
        ("GET", "/favicon.ico"),            # "/" and the portal's own paths are the web router's (tests/browser)
        # Paths every service serves but the gateway must not expose:
        ("GET", "/internal/units/1"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/_errors/503"),
    ]
    for method, path in unknown:
        request_id = f"unknown-{uuid.uuid4().hex[:8]}"
        r = client.request(method, path, headers={"X-Request-Id": request_id})
        assert envelope(r, 404)["message"] == "Not found", path
        assert r.headers["x-request-id"] == request_id
        (entry,) = gateway.access_entries(request_id)
        assert entry["RouterName"] == "not-found@file", path  # whose service is noop@internal
    # auth renders the gateway's refusals (first of the chain): inventory never saw one of these requests.
    assert gateway.requests_to("inventory-replicas") == 0
