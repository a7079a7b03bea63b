"""Check deploy/monitoring without Prometheus or Grafana: the alert rules and the dashboard parse, carry what
Prometheus/Grafana need, and use only metrics the code exports (jeshkit.metrics, Prometheus' own `up`,
Traefik's `traefik_*` from gateway/traefik.yml). promtool (Debian's `prometheus` package; none on PyPI) checks
the rules and runs their unit tests too where it is installed (tests/deploy/test_monitoring.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
ALERTS = MONITORING / "alerts.yml"
DASHBOARDS = MONITORING / "grafana" / "dashboards"
DATASOURCES = MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
_METRIC = re.compile(r"\b(jesh_[a-z0-9_]+|traefik_[a-z0-9_]+|up)\b(?!\s*\()")
_RANGE_FUNCTIONS = re.compile(r"\b(rate|irate|increase|deriv|delta|avg_over_time|max_over_time)\(([^()]*)\)")


def known_metrics() -> set[str]:
    """The kit's metric families and every service's own (its module `<service>.metrics`, when it has one)."""
    import importlib
    import importlib.util

    from jeshkit.metrics import metric_names

    for service in sorted(p.name for p in (MONITORING.parents[1] / "services").iterdir() if p.is_dir()):
        if importlib.util.find_spec(service) and importlib.util.find_spec(f"{service}.metrics"):
            importlib.import_module(f"{service}.metrics")
    return metric_names()


def expression_problems(where: str, expr: str, known: set[str]) -> list[str]:
    problems = []
    for opening, closing in ("()", "{}", "[]"):
        if expr.count(opening) != expr.count(closing):
            problems.append(f"{where}: unbalanced {opening}{closing} in {expr!r}")
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "", without_strings)
    without_groupings = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", without_labels)
    for name in set(_METRIC.findall(without_groupings)):
        if name.startswith("jesh_") and name not in known:
            problems.append(f"{where}: uses {name}, which no code exports")
    for function, argument in _RANGE_FUNCTIONS.findall(without_labels):
        if not re.search(r"\[[0-9]+[smhd]\]\s*$", argument):
            problems.append(f"{where}: {function}() needs a range vector, got {argument!r}")
    return problems


def alert_problems(path: Path = ALERTS, known: Iterable[str] | None = None) -> list[str]:
    known_set = set(known) if known is not None else known_metrics()
    document = yaml.safe_load(path.read_text()) or {}
    problems, names = [], set()
    for group in document.get("groups") or []:
        if not group.get("name") or not group.get("rules"):
            problems.append(f"group {group.get('name')!r}: needs a name and rules")
        for rule in group.get("rules") or []:
            name = rule.get("alert") or "<unnamed>"
            if name in names:
                problems.append(f"{name}: defined twice")
            names.add(name)
            if not rule.get("expr"):
                problems.append(f"{name}: no expr")
                continue
            if not re.fullmatch(r"[0-9]+[smh]", str(rule.get("for", ""))):
                problems.append(f"{name}: needs a 'for' duration (no alert on one bad scrape)")
            if (rule.get("labels") or {}).get("severity") not in ("warning", "critical"):
                problems.append(f"{name}: labels.severity must be warning or critical")
            if not (rule.get("annotations") or {}).get("summary"):
                problems.append(f"{name}: annotations.summary is missing")
            problems += expression_problems(name, str(rule["expr"]), known_set)
    return problems


def dashboard_problems(directory: Path = DASHBOARDS, known: Iterable[str] | None = None) -> list[str]:
    known_set = set(known) if known is not None else known_metrics()
    datasource_uids = {d["uid"] for d in (yaml.safe_load(DATASOURCES.read_text()) or {}).get("datasources") or []}
    problems: list[str] = []
    files = sorted(directory.glob("*.json"))
    if not files:
        return [f"no dashboard in {directory}"]
    for file in files:
        dashboard: dict[str, Any] = json.loads(file.read_text())
        if not dashboard.get("uid") or not dashboard.get("panels"):
            problems.append(f"{file.name}: needs a uid and panels")
        for panel in dashboard.get("panels") or []:
            where = f"{file.name} panel {panel.get('title')!r}"
            uid = (panel.get("datasource") or {}).get("uid")
            if uid not in datasource_uids:
                problems.append(f"{where}: datasource {uid!r} is not provisioned")
            if not panel.get("targets"):
                problems.append(f"{where}: no query")
            for target in panel.get("targets") or []:
                problems += expression_problems(where, target.get("expr", ""), known_set)
    return problems
