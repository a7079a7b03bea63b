"""The alert rules and the Grafana dashboard parse and use only metrics the code exports."""

from __future__ import annotations

from pathlib import Path

import yaml
from monitoring_check import ALERTS, alert_problems, dashboard_problems, known_metrics

REPO = Path(__file__).resolve().parents[2]


def test_the_alert_rules_are_valid_and_use_existing_metrics():
    assert alert_problems() == []
    alerts = {rule["alert"] for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]}
    assert {"OutboxBacklogGrowing", "ParkedMessages", "PaymentSuccessRateFalling", "DarajaErrors",
            "ServiceNotReady"} <= alerts


def test_the_dashboard_is_valid_and_uses_existing_metrics():
    assert dashboard_problems() == []


def test_the_checks_can_fail(tmp_path):
    rules = yaml.safe_load(ALERTS.read_text())
    rule = rules["groups"][0]["rules"][0]
    rule["expr"] = "sum by (service) (rate(jesh_outbox_backlogg[5m])) > (1"
    rule.pop("for")
    broken = tmp_path / "alerts.yml"
    broken.write_text(yaml.safe_dump(rules))
    problems = alert_problems(broken)
    name = rule["alert"]
    assert f"{name}: uses jesh_outbox_backlogg, which no code exports" in problems
    assert f"{name}: needs a 'for' duration (no alert on one bad scrape)" in problems
    assert any(p.startswith(f"{name}: unbalanced ()") for p in problems)
    assert dashboard_problems(known=set())  # without the kit's metrics every panel is flagged


def test_the_kit_exports_the_families_the_rules_need():
    names = known_metrics()
    for name in ("jesh_http_requests_total", "jesh_http_request_duration_seconds_bucket", "jesh_outbox_backlog",
                 "jesh_outbox_oldest_unsent_age_seconds", "jesh_consumer_parked_messages", "jesh_ready",
                 "jesh_payments_total", "jesh_daraja_request_duration_seconds_count"):
        assert name in names


def test_traefik_exports_prometheus_metrics_for_the_dashboard():
    static = yaml.safe_load((REPO / "gateway" / "traefik.yml").read_text())
    assert static["metrics"]["prometheus"]["entryPoint"] == "internal"
