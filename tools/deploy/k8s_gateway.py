"""The generated gateway: Traefik serving gateway/ as it is (ConfigMaps of its files), a backend per service."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))
from deployment import REPO, SERVICE_PORT
from k8s_parts import (
    DNS,
    MONITORING,
    autoscaler,
    container_security,
    disruption_budget,
    labels,
    pod_security,
    pods,
    probe,
    resources,
    selector,
    settings_ref,
    spread,
)

GATEWAY = REPO / "gateway"
GATEWAY_PORT = 5000
GATEWAY_INTERNAL_PORT = 8082


def gateway_knobs() -> list[str]:
    """The environment variables gateway/dynamic/*.yml read (JESH_<SERVICE>_URLS apart)."""
    knobs: set[str] = set()
    for dynamic in sorted((GATEWAY / "dynamic").glob("*.y*ml")):
        knobs |= set(re.findall(r"""env\s+["']([A-Z][A-Z0-9_]*)["']""", dynamic.read_text()))
    return sorted(k for k in knobs if not re.fullmatch(r"JESH_[A-Z]+_URLS", k))


def gateway_objects(specs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    name = "gateway"
    env: list[dict[str, Any]] = [
        {"name": f"JESH_{service_name.upper()}_URLS", "value": f"http://{service_name}:{SERVICE_PORT}"}
        for service_name in specs
    ]
    env += [{"name": knob, "valueFrom": settings_ref(knob, optional=True)} for knob in gateway_knobs()]
    dynamic_files = sorted(p.name for p in (GATEWAY / "dynamic").glob("*.y*ml"))
    container = {
        "name": "traefik",
        "image": "traefik:v3.7.15",
        "args": ["--configFile=/etc/traefik/traefik.yml"],
        "ports": [{"name": "web", "containerPort": GATEWAY_PORT},
                  {"name": "internal", "containerPort": GATEWAY_INTERNAL_PORT}],
        "env": env,
        "volumeMounts": [
            {"name": "static", "mountPath": "/etc/traefik/traefik.yml", "subPath": "traefik.yml", "readOnly": True},
            {"name": "dynamic", "mountPath": "/etc/traefik/dynamic", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "securityContext": container_security(),
        "resources": resources("200m", "128Mi", "2", "512Mi"),
        "livenessProbe": probe("/ping", "internal", period=10, failures=3),
        "readinessProbe": probe("/ping", "internal", period=5, failures=2),
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
    }
    deployment_object = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(name, "gateway")},
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector(name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": labels(name, "gateway"),
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(GATEWAY_INTERNAL_PORT),
                                    "prometheus.io/path": "/metrics"},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": pod_security(65534),
                    "topologySpreadConstraints": spread(name),
                    "containers": [container],
                    "volumes": [
                        {"name": "static", "configMap": {"name": "gateway-static"}},
                        {"name": "dynamic", "configMap": {"name": "gateway-dynamic",
                                                          "items": [{"key": f, "path": f} for f in dynamic_files]}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                    ],
                },
            },
        },
    }
    public_service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels(name, "gateway")},
        "spec": {
            # The cloud load balancer forwards to the gateway pods with the client's own address
            # (externalTrafficPolicy Local), so the per-IP rate limits see real clients.
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "selector": selector(name),
            "ports": [{"name": "http", "port": 80, "targetPort": "web"}],
        },
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": labels(name, "gateway")},
        "spec": {
            **pods(name),
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"ports": [{"protocol": "TCP", "port": GATEWAY_PORT}]},
                {"from": [MONITORING], "ports": [{"protocol": "TCP", "port": GATEWAY_INTERNAL_PORT}]},
            ],
            "egress": [DNS, {"to": [pods(s) for s in specs], "ports": [{"protocol": "TCP", "port": SERVICE_PORT}]}],
        },
    }
    return [deployment_object, public_service, disruption_budget(name, "gateway"),
            autoscaler(name, "gateway", 6), policy]
