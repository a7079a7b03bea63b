"""The Kubernetes gateway against gateway/ and the code: the same files, a backend per service, every route."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from deployment import REPO, SERVICE_PORT, SERVICES
from gateway_routes import route_for, routes
from k8s_gateway import static_backends, static_config
from k8s_read import allows, dig, pod_spec, policy_for, resolve_env

from jeshstack.gateway import dynamic_env_knobs

GATEWAY = REPO / "gateway"
OPENAPI = REPO / "contracts" / "openapi"


def gateway_problems(objects: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[str]:
    """The gateway serves gateway/ byte for byte, with a backend per service, and every route reaches its owner."""
    problems = []
    deployment = objects.get(("Deployment", "gateway"))
    if deployment is None:
        return ["gateway: no Deployment"]
    (container,) = pod_spec(deployment)["containers"]
    env, _, env_problems = resolve_env(container, objects)
    problems += [f"gateway: {p}" for p in env_problems]
    for name in SERVICES:
        key = f"JESH_{name.upper()}_URLS"
        if env.get(key) != f"http://{name}:{SERVICE_PORT}":
            problems.append(f"gateway: {key} must be http://{name}:{SERVICE_PORT} (got {env.get(key)!r})")
        elif not allows(policy_for(objects, "gateway"), "egress", name, SERVICE_PORT):
            problems.append(f"gateway: its NetworkPolicy does not let it reach {name}")
    for backend, spec in static_backends().items():
        problems += _static_backend_problems(backend, spec["port"], env, objects)
    volumes = {v["name"]: v for v in pod_spec(deployment).get("volumes") or []}
    mounted = {m["mountPath"]: volumes.get(m["name"], {}) for m in container.get("volumeMounts") or []}
    wanted = {"/etc/traefik/traefik.yml": [GATEWAY / "traefik.yml"],
              "/etc/traefik/dynamic": sorted((GATEWAY / "dynamic").glob("*.y*ml"))}
    for mount_path, files in wanted.items():
        config_map = objects.get(("ConfigMap", dig(mounted.get(mount_path, {}), "configMap.name") or ""))
        data = (config_map or {}).get("data") or {}
        for file in files:
            # The static file without its HTTPS entry point (k8s_gateway.static_config); the dynamic ones as they are.
            expected = static_config() if file.name == "traefik.yml" else file.read_text()
            if data.get(file.name) != expected:
                problems.append(f"gateway: {mount_path} does not serve gateway/{file.relative_to(GATEWAY)} as it is")
    knobs = dynamic_env_knobs(GATEWAY)
    given = {item["name"] for item in container.get("env") or []}
    problems += [f"gateway: the gateway reads {knob} but the Deployment does not pass it"
                 for knob in sorted(knobs - given)]
    return problems


def _static_backend_problems(name: str, port: int, gateway_env: Mapping[str, str],
                             objects: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[str]:
    """A static backend of the gateway (the portal): reachable by the gateway only, unprivileged, read-only."""
    key = f"JESH_{name.upper()}_URLS"
    problems = []
    if gateway_env.get(key) != f"http://{name}:{port}":
        problems.append(f"gateway: {key} must be http://{name}:{port} (got {gateway_env.get(key)!r})")
    deployment = objects.get(("Deployment", name))
    service = objects.get(("Service", name))
    if deployment is None or service is None or dig(service, "spec.selector") != {"app.kubernetes.io/name": name}:
        return [*problems, f"{name}: needs a Deployment and a Service selecting its pods"]
    pod = pod_spec(deployment)
    (container,) = pod["containers"]
    if not dig(pod, "securityContext.runAsNonRoot") or not dig(container, "securityContext.readOnlyRootFilesystem"):
        problems.append(f"{name}: must run as non-root with a read-only root filesystem")
    if (deployment["spec"].get("replicas") or 1) < 2 or objects.get(("PodDisruptionBudget", name)) is None:
        problems.append(f"{name}: needs 2+ replicas and a PodDisruptionBudget")
    if not allows(policy_for(objects, "gateway"), "egress", name, port):
        problems.append(f"gateway: its NetworkPolicy does not let it reach {name}")
    policy = policy_for(objects, name)
    if not allows(policy, "ingress", "gateway", port) or dig(policy, "spec.egress") != []:
        problems.append(f"{name}: its NetworkPolicy must let only the gateway in and nothing out")
    return problems


def route_problems() -> list[str]:
    """Every /api operation in each service's OpenAPI document reaches that service through the gateway."""
    problems, table = [], routes()
    for name in SERVICES:
        document = OPENAPI / f"{name}.json"
        if not document.is_file():
            problems.append(f"{name}: contracts/openapi/{name}.json is missing")
            continue
        for path, operations in json.loads(document.read_text())["paths"].items():
            if not path.startswith("/api/"):
                continue
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            for method in operations:
                route = route_for(method, concrete, table)
                owner = route.service if route else None
                if owner != name:
                    problems.append(f"{name}: {method.upper()} {path} is routed to {owner or 'nothing'}")
    return problems
