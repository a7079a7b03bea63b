"""The alert rules and the Grafana dashboard parse and use only metrics the code exports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from monitoring_check import ALERTS, alert_problems, dashboard_problems, known_metrics

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "monitoring"


def test_promtool_accepts_the_rules(promtool: str) -> None:
    done = subprocess.run([promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_alerts_fire_when_they_should_and_not_before(promtool: str) -> None:
    """deploy/monitoring/alerts.test.yml: promtool's rule unit tests (series in, expected alerts out)."""
    done = subprocess.run([promtool, "test", "rules", "alerts.test.yml"], cwd=MONITORING,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_refuses_a_broken_rule(promtool: str, tmp_path: Path) -> None:
    rules = yaml.safe_load(ALERTS.read_text())
    rules["groups"][0]["rules"][0]["expr"] = "sum by (service) (jesh_outbox_backlog > "
    broken = tmp_path / "alerts.yml"
    broken.write_text(yaml.safe_dump(rules))
    assert subprocess.run([promtool, "check", "rules", str(broken)], capture_output=True, timeout=60).returncode != 0


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


def test_the_monitoring_files_render_as_configmaps_that_validate():
    from k8s_check import render, schema_problems

    objects = render(MONITORING)
    assert schema_problems(objects) == []
    by_name = {o["metadata"]["name"]: o for o in objects}
    dashboards = by_name["jesh-grafana-dashboards"]
    assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboards["data"]["jesh.json"] == (MONITORING / "grafana" / "dashboards" / "jesh.json").read_text()
    assert by_name["jesh-prometheus"]["data"]["alerts.yml"] == ALERTS.read_text()
    assert {o["metadata"]["namespace"] for o in objects} == {"monitoring"}
