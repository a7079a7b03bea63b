"""Reading rendered Kubernetes objects: paths, pod specs, a container's environment, NetworkPolicy peers."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))
from deployment import dummy_value


def label(obj: Mapping[str, Any]) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def dig(obj: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(obj, Mapping) or key not in obj:
            return None
        obj = obj[key]
    return obj


def index(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


def pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return dig(obj, "spec.template.spec") or {}


def resolve_env(container: Mapping[str, Any], objects: Mapping[tuple[str, str], Mapping[str, Any]]
                ) -> tuple[dict[str, str], set[str], list[str]]:
    """The environment a container would get: (values, names that come from Secrets, problems)."""
    values: dict[str, str] = {}
    from_secrets: set[str] = set()
    problems: list[str] = []
    for item in container.get("env") or []:
        name, source = item["name"], item.get("valueFrom") or {}
        if "value" in item:
            values[name] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: values.get(m.group(1), m.group(0)),
                                  str(item["value"]))
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            from_secrets.add(name)
            if ref["name"].endswith("-db-app") and ref["key"] == "uri":
                owner = ref["name"].removesuffix("-db-app").removesuffix("-db") or "x"
                cluster = ref["name"].removesuffix("-app")
                values[name] = f"postgresql://{owner}:{dummy_value(name)}@{cluster}-rw:5432/{owner}"
            else:
                values[name] = dummy_value(name)
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            data = (objects.get(("ConfigMap", ref["name"])) or {}).get("data") or {}
            if ref["key"] in data:
                values[name] = str(data[ref["key"]])
            elif not ref.get("optional"):
                problems.append(f"{name} reads key {ref['key']} of ConfigMap {ref['name']}, which has no such key")
    return values, from_secrets, problems


def selects(policy_peer: Mapping[str, Any], app: str) -> bool:
    return dig(policy_peer, "podSelector.matchLabels") == {"app.kubernetes.io/name": app} and \
        "namespaceSelector" not in policy_peer


def policy_for(objects: Mapping[tuple[str, str], Mapping[str, Any]], app: str) -> Mapping[str, Any]:
    for (kind, _), obj in objects.items():
        if kind == "NetworkPolicy" and dig(obj, "spec.podSelector.matchLabels") == {"app.kubernetes.io/name": app}:
            return obj
    return {}


def allows(policy: Mapping[str, Any], direction: str, app: str, port: int) -> bool:
    """Does the NetworkPolicy's ingress (from) / egress (to) list let pods of `app` through on `port`?"""
    side = "from" if direction == "ingress" else "to"
    for rule in dig(policy, f"spec.{direction}") or []:
        ports = [p.get("port") for p in rule.get("ports") or []]
        if ports and port not in ports:
            continue
        if any(selects(peer, app) for peer in rule.get(side) or []):
            return True
    return False
