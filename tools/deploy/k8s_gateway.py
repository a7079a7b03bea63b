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
# The gateway's backends that are not services: the portal's static files (web/Dockerfile: nginx, port 8080,
# user 101), present when gateway/dynamic reads JESH_<NAME>_URLS for them.
STATIC_BACKENDS = {"web": {"port": 8080, "uid": 101}}


def gateway_knobs() -> list[str]:
    """The environment variables gateway/dynamic/*.yml read (JESH_<SERVICE>_URLS apart)."""
    knobs: set[str] = set()
    for dynamic in sorted((GATEWAY / "dynamic").glob("*.y*ml")):
        knobs |= set(re.findall(r"""env\s+["']([A-Z][A-Z0-9_]*)["']""", dynamic.read_text()))
    return sorted(k for k in knobs if not re.fullmatch(r"JESH_[A-Z]+_URLS", k))


def static_backends() -> dict[str, dict[str, int]]:
    """The static backends the gateway's files route to (JESH_<NAME>_URLS read by gateway/dynamic)."""
    text = "".join(p.read_text() for p in sorted((GATEWAY / "dynamic").glob("*.y*ml")))
    return {name: spec for name, spec in STATIC_BACKENDS.items() if f"JESH_{name.upper()}_URLS" in text}


def backends(specs: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Every workload the gateway forwards to: name -> port."""
    return {**dict.fromkeys(specs, SERVICE_PORT), **{n: s["port"] for n, s in static_backends().items()}}


def gateway_objects(specs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    name = "gateway"
    env: list[dict[str, Any]] = [
        {"name": f"JESH_{backend.upper()}_URLS", "value": f"http://{backend}:{port}"}
        for backend, port in backends(specs).items()
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
            "egress": [DNS, *({"to": [pods(backend)], "ports": [{"protocol": "TCP", "port": port}]}
                              for backend, port in backends(specs).items())],
        },
    }
    return [deployment_object, public_service, disruption_budget(name, "gateway"),
            autoscaler(name, "gateway", 6), policy]


def static_backend_objects(name: str, port: int, uid: int) -> list[dict[str, Any]]:
    """A static file server behind the gateway (the portal): no database, no NATS, no way out."""
    container = {
        "name": name,
        "image": f"jesh/{name}:latest",
        "ports": [{"name": "http", "containerPort": port}],
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": container_security(),
        "resources": resources("20m", "32Mi", "500m", "128Mi"),
        "livenessProbe": probe("/healthz", "http", period=10, failures=3),
        "readinessProbe": probe("/healthz", "http", period=5, failures=2),
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
    }
    deployment_object = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(name, "frontend")},
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector(name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels(name, "frontend")},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security(uid),
                    "topologySpreadConstraints": spread(name),
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }
    service_object = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels(name, "frontend")},
        "spec": {"selector": selector(name), "ports": [{"name": "http", "port": port, "targetPort": "http"}]},
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": labels(name, "frontend")},
        "spec": {
            **pods(name),
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [pods("gateway")], "ports": [{"protocol": "TCP", "port": port}]}],
            "egress": [],
        },
    }
    return [deployment_object, service_object, disruption_budget(name, "frontend"),
            autoscaler(name, "frontend", 4), policy]
