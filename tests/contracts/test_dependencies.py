"""Every route's dependencies run on the event loop, unless they block: FastAPI runs a plain `def` dependency in its
thread pool, a thread hop (and a wait for a free thread under load) per request, for nothing when all it does is
read app.state or a header. Those that block (a statement, Argon2) stay plain `def`, named here."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from export_openapi import SERVICES
from fastapi.routing import APIRoute

# Dependencies that do blocking work on purpose, by service.
BLOCKING = {"auth": {"credentials_rate_limit"}}  # one statement: spends a token of the client's address


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The app's routes, those of included routers too (FastAPI keeps them behind the router that includes them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def sync_dependencies(dependant: Any) -> Iterator[str]:
    for sub in dependant.dependencies:
        call = sub.call
        if call is not None and not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)):
            yield getattr(call, "__qualname__", repr(call))
        yield from sync_dependencies(sub)


def sync_dependencies_of(service: str) -> dict[str, set[str]]:
    settings = importlib.import_module(f"{service}.settings").Settings(environment="development")
    app = importlib.import_module(f"{service}.app").create_app(settings)
    found: dict[str, set[str]] = {}
    for route in api_routes(app.routes):
        for name in sync_dependencies(route.dependant):
            found.setdefault(name, set()).add(f"{sorted(route.methods)[0]} {route.path}")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_no_dependency_hops_to_a_thread_for_nothing(service: str) -> None:
    found = sync_dependencies_of(service)
    assert sum(len(routes) for routes in found.values()) > 0 or service not in BLOCKING, found  # the walk sees them
    unexpected = {name: sorted(routes) for name, routes in found.items() if name not in BLOCKING.get(service, set())}
    assert unexpected == {}, f"make these async (or name them in BLOCKING with why): {unexpected}"
