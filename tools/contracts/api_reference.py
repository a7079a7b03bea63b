"""The one API reference: every service's committed OpenAPI document merged into contracts/api-reference.json.

    .venv/bin/python tools/contracts/api_reference.py            # write it
    .venv/bin/python tools/contracts/api_reference.py --check    # exit 1 when it differs from the services' files

Paths are disjoint between services (each owns its gateway prefix; tests/contracts checks it). Each operation is
tagged with its service. A schema two services name alike but define differently is kept once per service as
`<service>.<Name>` (its references rewritten); identical ones are kept once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from export_openapi import OPENAPI_DIR, REPO, SERVICES

MERGED = REPO / "contracts" / "api-reference.json"
REF = "#/components/schemas/"


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: (REF + renames.get(value[len(REF):], value[len(REF):])
                      if key == "$ref" and isinstance(value, str) and value.startswith(REF)
                      else _rename_refs(value, renames))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def merge(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One OpenAPI document from each service's (service -> document)."""
    by_name: dict[str, dict[str, Any]] = {}  # schema name -> {service: definition}
    for service, doc in documents.items():
        for name, schema in (doc.get("components", {}).get("schemas") or {}).items():
            by_name.setdefault(name, {})[service] = schema
    clashing = {name for name, defs in by_name.items()
                if len({json.dumps(d, sort_keys=True) for d in defs.values()}) > 1}
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for service, doc in documents.items():
        renames = {name: f"{service}.{name}" for name in clashing}
        for name, schema in (doc.get("components", {}).get("schemas") or {}).items():
            schemas[renames.get(name, name)] = _rename_refs(schema, renames)
        for path, operations in (doc.get("paths") or {}).items():
            if path in paths:
                raise ValueError(f"{path} is documented by two services")
            tagged = {}
            for method, operation in _rename_refs(operations, renames).items():
                if isinstance(operation, dict):
                    operation = {**operation, "tags": [service]}
                    if "operationId" in operation:
                        operation["operationId"] = f"{service}.{operation['operationId']}"
                tagged[method] = operation
            paths[path] = tagged
    return {
        "openapi": next(iter(documents.values())).get("openapi", "3.1.0"),
        "info": {"title": "Jesh Storage API", "version": "1.0.0",
                 "description": "Every service's routes through the gateway (`/api/...`), merged from "
                                "contracts/openapi/. Authorization: `Bearer <access token>` from /api/auth/login."},
        "tags": [{"name": service, "description": documents[service].get("info", {}).get("title", service)}
                 for service in documents],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def render() -> str:
    documents = {service: json.loads((OPENAPI_DIR / f"{service}.json").read_text()) for service in SERVICES}
    return json.dumps(merge(documents), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    current = render()
    if "--check" in argv:
        if not MERGED.is_file() or MERGED.read_text() != current:
            print(f"stale: {MERGED.relative_to(REPO)}; run: .venv/bin/python tools/contracts/api_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    MERGED.write_text(current)
    print(f"wrote {MERGED.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main(sys.argv[1:]))
