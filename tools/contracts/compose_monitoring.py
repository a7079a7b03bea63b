"""compose's monitoring: Prometheus scrapes every service and the gateway with deploy/monitoring/alerts.yml,
Alertmanager e-mails what fires (its configuration written by compose from .env), Grafana shows the dashboard.
Prometheus' and Alertmanager's own checkers (promtool, amtool) run in tests/deploy/test_compose_monitoring.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from compose_parts import environment_of, mounts_of, services_of, unmounted
from deployment import REPO, SERVICE_PORT, SERVICES

GRAFANA_PROVIDER = "deploy/monitoring/grafana/provisioning/dashboards/jesh.yml"
PROMETHEUS_CONFIG = "./deploy/monitoring/prometheus-compose.yml"
ALERTMANAGER_CONFIG = "/etc/alertmanager/alertmanager.yml"
GATEWAY_INTERNAL = "traefik:8082"  # gateway/traefik.yml: the internal entry point (ping, metrics)
DATASOURCE_UID = "jesh-prometheus"  # the dashboard's (deploy/monitoring/grafana)
HEALTHCHECK_ALERT = ("./deploy/monitoring/healthcheck-alert.sh", "/usr/local/bin/jesh-healthcheck-alert.sh")
# Checked by a script with no metrics: their healthchecks tell Alertmanager themselves.
ALERTING_HEALTHCHECKS = ("postgres-backup", "postgres-pitr", "backup-offsite")
IMAGES = {
    "prometheus": r"prom/prometheus:v\d+\.\d+\.\d+",
    "alertmanager": r"prom/alertmanager:v\d+\.\d+\.\d+",
    "grafana": r"grafana/grafana:\d+\.\d+\.\d+",
}


def config_content(compose: Mapping[str, Any], name: str) -> str:
    """The text of a top-level `configs` entry given inline (`content`); '' when there is none."""
    return str(((compose.get("configs") or {}).get(name) or {}).get("content") or "")


def monitoring_problems(compose: Mapping[str, Any], resolved: Mapping[str, Any], repo: Path = REPO) -> list[str]:
    """Every way compose's monitoring disagrees with the services and the rules; [] when it agrees.
    `resolved`: the compose tree interpolated with an operator's .env."""
    services = services_of(compose)
    problems = [f"{name}: missing from services (deploy/README.md, Alerts)" for name in IMAGES if name not in services]
    if problems:
        return problems
    for name, pattern in IMAGES.items():
        if not re.fullmatch(pattern, str(services[name].get("image"))):
            problems.append(f"{name}: must use the official image at a pinned version ({pattern})")
        for port in services[name].get("ports") or []:
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"{name}: publish {port} on the host's loopback only (127.0.0.1:...)")
    problems += _check_prometheus(services["prometheus"], services, repo)
    problems += _check_alertmanager(services["alertmanager"], services, resolved)
    problems += _check_grafana(services["grafana"], resolved, repo)
    if not _networks(services["grafana"]) & _networks(services["prometheus"]):
        problems.append("grafana: shares no network with prometheus, which it reads")
    problems += _check_healthcheck_alerts(services)
    return problems


def _networks(service: Mapping[str, Any]) -> set[str]:
    return set(service.get("networks") or [])  # the list, or the mapping's names


def _command_flag(service: Mapping[str, Any], flag: str) -> str | None:
    for part in service.get("command") or []:
        if str(part).startswith(f"{flag}="):
            return str(part).split("=", 1)[1]
    return None


def _check_prometheus(prometheus: Mapping[str, Any], services: Mapping[str, Any], repo: Path) -> list[str]:
    problems = unmounted("prometheus", prometheus, (PROMETHEUS_CONFIG, "/etc/prometheus/prometheus.yml"),
                         ("./deploy/monitoring/alerts.yml", "/etc/prometheus/alerts.yml"))
    if _command_flag(prometheus, "--config.file") != "/etc/prometheus/prometheus.yml":
        problems.append("prometheus: --config.file must be /etc/prometheus/prometheus.yml")
    if "backend" not in _networks(prometheus):
        problems.append("prometheus: must be on the backend network (where the services are)")
    config = yaml.safe_load((repo / PROMETHEUS_CONFIG).read_text()) or {}
    if "alerts.yml" not in (config.get("rule_files") or []):
        problems.append(f"{PROMETHEUS_CONFIG}: rule_files must load alerts.yml")
    jobs = {job.get("job_name"): job for job in config.get("scrape_configs") or []}
    discovered = (jobs.get("jesh-services") or {}).get("dns_sd_configs") or []
    names = {name for entry in discovered for name in entry.get("names") or []}
    for missing in sorted(set(SERVICES) - names):
        problems.append(f"{PROMETHEUS_CONFIG}: job jesh-services does not scrape {missing}")
    for name in sorted(names - set(services)):
        problems.append(f"{PROMETHEUS_CONFIG}: job jesh-services scrapes {name}, which is not a compose service")
    if any(entry.get("port") != SERVICE_PORT for entry in discovered) or not discovered:
        problems.append(f"{PROMETHEUS_CONFIG}: job jesh-services must find the services by DNS on port {SERVICE_PORT}")
    gateway = [t for c in (jobs.get("jesh-gateway") or {}).get("static_configs") or [] for t in c.get("targets") or []]
    if gateway != [GATEWAY_INTERNAL]:
        problems.append(f"{PROMETHEUS_CONFIG}: job jesh-gateway must scrape {GATEWAY_INTERNAL} (Traefik's metrics)")
    alerting = ((config.get("alerting") or {}).get("alertmanagers") or [{}])[0].get("static_configs") or [{}]
    if alerting[0].get("targets") != ["alertmanager:9093"]:
        problems.append(f"{PROMETHEUS_CONFIG}: must send its alerts to alertmanager:9093")
    return problems


def _check_alertmanager(alertmanager: Mapping[str, Any], services: Mapping[str, Any],
                        resolved: Mapping[str, Any]) -> list[str]:
    problems = []
    if _command_flag(alertmanager, "--config.file") != ALERTMANAGER_CONFIG:
        problems.append(f"alertmanager: --config.file must be {ALERTMANAGER_CONFIG}")
    if {"source": "alertmanager", "target": ALERTMANAGER_CONFIG} not in (alertmanager.get("configs") or []):
        problems.append(f"alertmanager: the config `alertmanager` must be given at {ALERTMANAGER_CONFIG}")
    if not _networks(alertmanager) & _networks(services["prometheus"]):
        problems.append("alertmanager: shares no network with prometheus, which sends it the alerts")
    if "egress" not in _networks(alertmanager):
        problems.append("alertmanager: must be on the egress network (the mail server is outside)")
    try:
        config = yaml.safe_load(config_content(resolved, "alertmanager")) or {}
    except yaml.YAMLError as exc:
        return [*problems, f"configs.alertmanager: not YAML once interpolated ({exc})"]
    receivers = {r.get("name"): r for r in config.get("receivers") or []}
    receiver = receivers.get((config.get("route") or {}).get("receiver"))
    if not receiver or not receiver.get("email_configs"):
        problems.append("configs.alertmanager: the route's receiver must e-mail the operators (email_configs)")
    return problems


def _check_grafana(grafana: Mapping[str, Any], resolved: Mapping[str, Any], repo: Path) -> list[str]:
    problems = unmounted("grafana", grafana, (f"./{GRAFANA_PROVIDER}", "/etc/grafana/provisioning/dashboards/jesh.yml"))
    provider = yaml.safe_load((repo / GRAFANA_PROVIDER).read_text())
    path = provider["providers"][0]["options"]["path"]
    if ["./deploy/monitoring/grafana/dashboards", path] not in mounts_of(grafana):
        problems.append(f"grafana: ./deploy/monitoring/grafana/dashboards must be mounted at {path}")
    target = "/etc/grafana/provisioning/datasources/prometheus.yml"
    if {"source": "grafana-datasource", "target": target} not in (grafana.get("configs") or []):
        problems.append(f"grafana: the config `grafana-datasource` must be given at {target}")
    sources = (yaml.safe_load(config_content(resolved, "grafana-datasource")) or {}).get("datasources") or [{}]
    if sources[0].get("uid") != DATASOURCE_UID or sources[0].get("url") != "http://prometheus:9090":
        problems.append(f"configs.grafana-datasource: must be uid {DATASOURCE_UID} at http://prometheus:9090")
    return problems


def _check_healthcheck_alerts(services: Mapping[str, Any]) -> list[str]:
    """The backups' healthchecks run through deploy/monitoring/healthcheck-alert.sh, which can reach Alertmanager."""
    problems = []
    for name in ALERTING_HEALTHCHECKS:
        service = services.get(name)
        if service is None:
            continue  # compose_backups says it is missing
        test = [str(part) for part in (service.get("healthcheck") or {}).get("test") or []]
        if test[:4] != ["CMD", "sh", HEALTHCHECK_ALERT[1], name] or len(test) < 5:
            problems.append(f"{name}: the healthcheck must run its check through {HEALTHCHECK_ALERT[1]} {name}")
        problems += unmounted(name, service, HEALTHCHECK_ALERT)
        if environment_of(service).get("ALERTMANAGER_API") != "http://alertmanager:9093":
            problems.append(f"{name}: ALERTMANAGER_API must be http://alertmanager:9093")
        if not _networks(service) & _networks(services["alertmanager"]):
            problems.append(f"{name}: shares no network with alertmanager, which its healthcheck tells")
    return problems
