"""Building blocks of the generated Kubernetes objects (labels, security, probes, policies' peers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

UID = 10001
NATS_REPLICAS = 3  # base/nats/nats.yaml runs this many servers; the stream is replicated on all of them
METRICS_PATH = "/metrics"


def labels(name: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": "jesh"}


def selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


def db_cluster(name: str) -> str:
    return f"{name}-db"


def secret_ref(secret: str, key: str, *, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"secretKeyRef": ref}


def settings_ref(key: str, *, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": "jesh-settings", "key": key}
    if optional:
        ref["optional"] = True
    return {"configMapKeyRef": ref}


def container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}}


def pod_security(uid: int) -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"}}


def spread(name: str) -> list[dict[str, Any]]:
    return [
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": {"matchLabels": selector(name)}, "matchLabelKeys": ["pod-template-hash"]},
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": selector(name)}, "matchLabelKeys": ["pod-template-hash"]},
    ]


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def probe(path: str, port: int | str, *, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "timeoutSeconds": 3,
            "failureThreshold": failures}


def service(name: str, port: int, target: str, component: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels(name, component)},
        "spec": {"selector": selector(name), "ports": [{"name": "http", "port": port, "targetPort": target}]},
    }


def disruption_budget(name: str, component: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": labels(name, component)},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": selector(name)}},
    }


def autoscaler(name: str, component: str, maximum: int) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels(name, component)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 2,
            "maxReplicas": maximum,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
        },
    }


def pods(name: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": selector(name)}}


def namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


DNS = {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
       "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
# Prometheus scrapes /metrics from the namespace `monitoring` (deploy/README.md).
MONITORING = namespace("monitoring")
