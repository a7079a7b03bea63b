"""The generated objects of one service: its Deployment (with the migration init container), NetworkPolicy,
CloudNativePG Cluster and, in production, its backups."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))
from deployment import SERVICE_PORT
from k8s_parts import (
    DNS,
    METRICS_PATH,
    MONITORING,
    NATS_REPLICAS,
    UID,
    container_security,
    db_cluster,
    labels,
    namespace,
    pod_security,
    pods,
    probe,
    resources,
    secret_ref,
    selector,
    settings_ref,
    spread,
)

# Traces (README, "Traces"): read from jesh-settings when the key is there (optional refs); no endpoint = off.
# OTEL_EXPORTER_OTLP_HEADERS may hold a collector's API key: it comes from the optional Secret jesh-otel.
TRACING_SETTINGS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG")


def service_env(name: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The container environment: settings, peers, and secrets by reference only."""
    env: list[dict[str, Any]] = [
        {"name": "ENVIRONMENT", "value": "production"},
        {"name": "SERVICE_NAME", "value": name},
        {"name": "LOG_LEVEL", "valueFrom": settings_ref("LOG_LEVEL")},
        # The Secret CloudNativePG writes for the Cluster's owner role: postgresql://<name>:...@<name>-db-rw...
        {"name": "DATABASE_URL", "valueFrom": secret_ref(f"{db_cluster(name)}-app", "uri")},
        {"name": "NATS_PASSWORD", "valueFrom": secret_ref("jesh-nats", "NATS_PASSWORD")},
        {"name": "NATS_URL", "value": "nats://jesh:$(NATS_PASSWORD)@nats:4222"},
        {"name": "EVENTS_STREAM_REPLICAS", "value": str(NATS_REPLICAS)},
        {"name": "AUTH_JWKS_URL", "value": f"http://auth:{SERVICE_PORT}/api/auth/.well-known/jwks.json"},
        *({"name": key, "valueFrom": settings_ref(key, optional=True)} for key in TRACING_SETTINGS),
        {"name": "OTEL_EXPORTER_OTLP_HEADERS",
         "valueFrom": {"secretKeyRef": {"name": "jesh-otel", "key": "OTEL_EXPORTER_OTLP_HEADERS", "optional": True}}},
    ]
    for variable, peer in spec["calls"].items():
        env.append({"name": variable, "value": f"http://{peer}:{SERVICE_PORT}"})
    for key in spec["settings"]:
        env.append({"name": key, "valueFrom": settings_ref(key)})
    for key in spec["secrets"]:
        env.append({"name": key, "valueFrom": secret_ref(f"jesh-{name}", key)})
    for key in spec["optional_secrets"]:  # a feature's secret: absent from the Secret, the feature is off
        env.append({"name": key, "valueFrom": secret_ref(f"jesh-{name}", key, optional=True)})
    for variable, (_key, path) in secret_files(name).items():
        env.append({"name": variable, "value": path})
    return env


def secret_files(name: str) -> dict[str, tuple[str, str]]:
    """Settings that name a file: variable -> (key of the Secret jesh-<name>, path where it is mounted)."""
    if name == "auth":
        # Retired public keys still accepted during a signing-key rotation (may be empty): deploy/README.md.
        return {"AUTH_PREVIOUS_KEYS_FILE": ("AUTH_PREVIOUS_KEYS", "/run/secrets/jesh/previous-keys.pem")}
    return {}


def deployment(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    image = f"jesh/{name}:latest"  # the overlays pin the registry and tag (kustomize images:)
    env = service_env(name, spec)
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    files = secret_files(name)
    if files:
        items = [{"key": key, "path": Path(path).name} for key, path in files.values()]
        volumes.append({"name": "secret-files", "secret": {"secretName": f"jesh-{name}", "items": items}})
        mounts.append({"name": "secret-files", "mountPath": str(Path(next(iter(files.values()))[1]).parent),
                       "readOnly": True})
    migrate = {
        "name": "migrate",
        "image": image,
        # The kit's migration env takes a PostgreSQL advisory lock: replicas starting together migrate in
        # turn, and a new version's pods serve only after `upgrade head` succeeded.
        "command": ["alembic", "-c", f"/app/services/{name}/alembic.ini", "upgrade", "head"],
        "env": env,
        "volumeMounts": mounts,
        "securityContext": container_security(),
        "resources": resources("100m", "128Mi", "500m", "256Mi"),
    }
    container = {
        "name": name,
        "image": image,
        "ports": [{"name": "http", "containerPort": SERVICE_PORT}],
        "env": env,
        "volumeMounts": mounts,
        "securityContext": container_security(),
        "resources": resources("100m", "192Mi", "1", "384Mi"),
        "startupProbe": probe("/healthz", "http", period=2, failures=30),
        "livenessProbe": probe("/healthz", "http", period=10, failures=3),
        "readinessProbe": probe("/readyz", "http", period=5, failures=2),
        # Let the endpoints controller and the gateway stop sending before uvicorn drains (20 s).
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(name, "service")},
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector(name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": labels(name, "service"),
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(SERVICE_PORT),
                                    "prometheus.io/path": METRICS_PATH},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": pod_security(UID),
                    "topologySpreadConstraints": spread(name),
                    "initContainers": [migrate],
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def callers(name: str, specs: dict[str, dict[str, Any]]) -> list[str]:
    """Services that call `name` over HTTP (everyone calls auth for its JWKS)."""
    if name == "auth":
        return [other for other in specs if other != "auth"]
    return [other for other, spec in specs.items() if name in spec["calls"].values()]


def callees(name: str, spec: dict[str, Any]) -> list[str]:
    peers = set(spec["calls"].values())
    if name != "auth":
        peers.add("auth")
    return sorted(peers)


def service_policy(name: str, spec: dict[str, Any], specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    http = [{"protocol": "TCP", "port": SERVICE_PORT}]
    egress: list[dict[str, Any]] = [
        DNS,
        {"to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": db_cluster(name)}}}],
         "ports": [{"protocol": "TCP", "port": 5432}]},
        {"to": [pods("nats")], "ports": [{"protocol": "TCP", "port": 4222}]},
    ]
    peers = callees(name, spec)
    if peers:
        egress.append({"to": [pods(peer) for peer in peers], "ports": http})
    if spec["internet"]:
        egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                           "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
                       "ports": [{"protocol": "TCP", "port": port} for port in spec["internet"]]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": labels(name, "service")},
        "spec": {
            **pods(name),
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [pods("gateway"), *(pods(c) for c in callers(name, specs)), MONITORING],
                         "ports": http}],
            "egress": egress,
        },
    }


def database(name: str) -> list[dict[str, Any]]:
    cluster = db_cluster(name)
    return [
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": cluster, "labels": labels(name, "database")},
            "spec": {
                "instances": 3,
                # One database owned by one role; CloudNativePG writes its credentials to the Secret
                # <name>-db-app (keys username, password, uri, ...), which only this service's pods read.
                "bootstrap": {"initdb": {"database": name, "owner": name}},
                "storage": {"size": "10Gi"},
                "primaryUpdateStrategy": "unsupervised",
                "postgresql": {"parameters": {"max_connections": "200"}},
                "resources": resources("250m", "512Mi", "2", "1Gi"),
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": cluster, "labels": labels(name, "database")},
            "spec": {
                "podSelector": {"matchLabels": {"cnpg.io/cluster": cluster}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    # only its own service (and the service's migration init container)
                    {"from": [pods(name)], "ports": [{"protocol": "TCP", "port": 5432}]},
                    # replication and the instance manager between the Cluster's own instances
                    {"from": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": cluster}}}]},
                    # the operator (status on 8000, and 5432)
                    {"from": [namespace("cnpg-system")],
                     "ports": [{"protocol": "TCP", "port": 8000}, {"protocol": "TCP", "port": 5432}]},
                    {"from": [MONITORING], "ports": [{"protocol": "TCP", "port": 9187}]},
                ],
            },
        },
    ]


# --- production backups: one object store per database (Barman Cloud plugin of CloudNativePG) ----------
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"


def backup_objects(name: str) -> list[dict[str, Any]]:
    cluster = db_cluster(name)
    return [
        {
            "apiVersion": "barmancloud.cnpg.io/v1",
            "kind": "ObjectStore",
            "metadata": {"name": cluster},
            "spec": {
                "retentionPolicy": "30d",
                "configuration": {
                    # the bucket is the operator's (deploy/README.md); credentials from the Secret jesh-backups
                    "destinationPath": f"s3://jesh-backups/{name}",
                    "s3Credentials": {
                        "accessKeyId": {"name": "jesh-backups", "key": "ACCESS_KEY_ID"},
                        "secretAccessKey": {"name": "jesh-backups", "key": "ACCESS_SECRET_KEY"},
                    },
                    # encrypted at rest by the store (S3's SSE; a MinIO without a KMS refuses it: drop it there)
                    "wal": {"compression": "gzip", "encryption": "AES256"},
                    "data": {"compression": "gzip", "encryption": "AES256"},
                },
            },
        },
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "ScheduledBackup",
            "metadata": {"name": f"{cluster}-daily"},
            "spec": {
                "schedule": "0 30 0 * * *",  # seconds first: 00:30 every day
                "backupOwnerReference": "self",
                "cluster": {"name": cluster},
                "method": "plugin",
                "pluginConfiguration": {"name": BARMAN_PLUGIN},
            },
        },
    ]


def backup_patch(name: str) -> dict[str, Any]:
    """Continuous WAL archiving of the Cluster to its ObjectStore (merged into base's Cluster)."""
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": db_cluster(name)},
        "spec": {"plugins": [{"name": BARMAN_PLUGIN, "isWALArchiver": True,
                              "parameters": {"barmanObjectName": db_cluster(name)}}]},
    }
