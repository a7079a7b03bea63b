"""Every service answers GET /metrics (Prometheus text) with the kit's families, read from the real database
and JetStream; the gateway never routes that path."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from deployment import SERVICES
from gateway_routes import route_for
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from jeshkit.metrics import METRICS_PATH

FAMILIES = {
    "jesh_http_requests", "jesh_http_request_duration_seconds", "jesh_outbox_backlog",
    "jesh_outbox_oldest_unsent_age_seconds", "jesh_consumer_pending_messages", "jesh_consumer_ack_pending_messages",
    "jesh_consumer_parked_messages", "jesh_ready",
}


def scrape(client: Any) -> dict[str, list[Any]]:
    r = client.get(METRICS_PATH)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(r.text)}


def value(families: dict[str, list[Any]], sample_name: str, **labels: str) -> float:
    (match,) = [s.value for s in families[sample_name.removesuffix("_total")] if s.name == sample_name
                and all(s.labels.get(k) == v for k, v in labels.items())]
    return match


def test_the_metrics_path_is_never_routed_by_the_gateway():
    assert route_for("GET", METRICS_PATH).service == "not-found"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_exports_the_kit_metrics(make_service: Callable[..., Any], service: str) -> None:
    client = make_service(service)
    client.get("/healthz")
    families = scrape(client)
    assert FAMILIES <= families.keys()
    assert value(families, "jesh_http_requests_total", method="GET", route="/healthz", status="200") >= 1
    assert value(families, "jesh_ready") == 1
    assert value(families, "jesh_outbox_backlog") >= 0


def test_requests_are_counted_by_route_template_and_status(make_service: Callable[..., Any]) -> None:
    client = make_service("inventory")
    before = scrape(client)

    def count(families: dict[str, list[Any]], status: str) -> float:
        samples = [s.value for s in families["jesh_http_requests"] if s.name == "jesh_http_requests_total"
                   and s.labels == {"method": "GET", "route": "/api/units/{unit_id}", "status": status}]
        return samples[0] if samples else 0.0

    assert client.get("/api/units/999999").status_code == 404
    assert client.get("/api/units/999998").status_code == 404
    after = scrape(client)
    assert count(after, "404") - count(before, "404") == 2  # one series for every id: the template
    buckets = [s for s in after["jesh_http_request_duration_seconds"]
               if s.name.endswith("_count") and s.labels.get("route") == "/api/units/{unit_id}"]
    assert buckets and buckets[0].value >= 2


def test_outbox_backlog_age_and_parked_messages_come_from_the_database(make_service: Callable[..., Any]) -> None:
    client = make_service("transport", run_workers=False)  # no sweep: rows written here stay unsent
    url = client.app.state.settings.database_url
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for _ in range(3):
                conn.execute(text(
                    "INSERT INTO outbox (id, type, version, subject, payload, created_at) VALUES "
                    "(:id, 'Probe', 1, 'jesh.events.Probe', '{}', now() - interval '90 seconds')"
                ), {"id": str(uuid.uuid4())})
            conn.execute(text(
                "INSERT INTO dead_letter (consumer, subject, payload, error, deliveries) "
                "VALUES ('transport', 'jesh.events.Probe', '{}', 'probe', 8)"
            ))
        families = scrape(client)
        assert value(families, "jesh_outbox_backlog") == 3
        assert 90 <= value(families, "jesh_outbox_oldest_unsent_age_seconds") < 600
        assert value(families, "jesh_consumer_parked_messages") == 1
        with engine.begin() as conn:
            conn.execute(text("UPDATE outbox SET sent_at = now()"))
            conn.execute(text("DELETE FROM dead_letter"))
        families = scrape(client)
        assert value(families, "jesh_outbox_backlog") == 0
        assert value(families, "jesh_outbox_oldest_unsent_age_seconds") == 0
        assert value(families, "jesh_consumer_parked_messages") == 0
    finally:
        engine.dispose()


def test_the_consumer_lag_is_read_from_jetstream(make_service: Callable[..., Any]) -> None:
    client = make_service("inventory")  # inventory consumes booking's events: it has a durable consumer
    families = scrape(client)
    pending = value(families, "jesh_consumer_pending_messages")
    assert pending >= 0 and re.fullmatch(r"\d+(\.0)?", str(pending))
    errors = [s for s in families.get("jesh_metrics_scrape_errors", []) if s.name.endswith("_total")]
    assert all(s.value == 0 for s in errors), errors
