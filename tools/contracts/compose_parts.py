"""Reading a loaded compose tree: a service's environment, dependencies and mounts (shared by the checks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def services_of(compose: Mapping[str, Any]) -> dict[str, Any]:
    return dict(compose.get("services") or {})


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def dependencies_of(service: Mapping[str, Any]) -> dict[str, str]:
    """depends_on as {service: condition}; the short list form means service_started."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def mounts_of(service: Mapping[str, Any]) -> list[list[str]]:
    """A service's volumes as [source, target] pairs (the mode, `:ro`, left off)."""
    return [str(v).split(":")[:2] for v in service.get("volumes") or []]


def unmounted(name: str, service: Mapping[str, Any], *wanted: tuple[str, str]) -> list[str]:
    """A problem for each (source, target) the service does not mount."""
    mounts = mounts_of(service)
    return [f"{name}: {source} must be mounted at {target}" for source, target in wanted
            if [source, target] not in mounts]
