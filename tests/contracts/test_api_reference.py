"""The one API reference (contracts/api-reference.json): every service's committed OpenAPI merged, kept current."""

from __future__ import annotations

import json

import pytest
from api_reference import MERGED, merge, render
from export_openapi import OPENAPI_DIR, SERVICES


def test_the_committed_reference_is_current():
    assert MERGED.read_text() == render(), "run: .venv/bin/python tools/contracts/api_reference.py"


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_of_every_service_is_in_the_reference(service):
    merged = json.loads(MERGED.read_text())
    own = json.loads((OPENAPI_DIR / f"{service}.json").read_text())
    assert own["paths"], service
    for path, operations in own["paths"].items():
        assert set(merged["paths"].get(path, {})) == set(operations), path
        assert all(op["tags"] == [service] for op in merged["paths"][path].values()), path
    prefix = next(p for p in own["paths"] if p.endswith("/admin/audit"))
    assert prefix in merged["paths"]


def test_every_reference_resolves():
    merged = json.loads(MERGED.read_text())
    text = json.dumps(merged)
    names = set(merged["components"]["schemas"])
    refs = {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}
    assert refs and refs <= names


def test_schemas_named_alike_but_different_are_kept_apart():
    def doc(path, kind):
        return {"openapi": "3.1.0", "info": {"title": path},
                "paths": {path: {"get": {"operationId": "get", "responses": {"200": {"content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}}}},
                "components": {"schemas": {"Thing": {"type": kind}, "Error": {"type": "object"}}}}

    merged = merge({"a": doc("/api/a", "string"), "b": doc("/api/b", "integer")})
    assert set(merged["components"]["schemas"]) == {"a.Thing", "b.Thing", "Error"}
    schema = merged["paths"]["/api/b"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/b.Thing"}
    with pytest.raises(ValueError, match="two services"):
        merge({"a": doc("/api/a", "string"), "b": doc("/api/a", "string")})
