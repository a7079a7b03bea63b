"""OpenAPI documents that tell the truth, for every service at once (installed by create_service_app).

FastAPI's document is generated from the routes, then corrected here, generically:

- no 422 anywhere (jeshkit.errors answers validation failures with 400 and the envelope), and no
  HTTPValidationError / ValidationError schemas;
- every operation declares, with the error envelope, the refusals it can give:
  400 everywhere (validation; and text no service can store, refused by jeshkit.middleware for any path,
  query string or body), 401 when it needs a token, 403 when it
  needs an admin, 404 when it has path parameters (an unknown or malformed id), 413 when it takes a
  body (the gateway's body limit), 429 everywhere (the gateway's rate limits; auth's own on login and
  register), 502/503 everywhere (no healthy replica, a dead replica, a database away); plus whatever
  the route declares itself (409, an ownership 403...);
- bounds are JSON Schema (pydantic's `ge`/`le` leaking as such become minimum/maximum; an integer's bounds are
  exact integers);
- parameters say what a URL can carry: an optional query parameter is its type, not "anyOf [type, null]";
  an integer id (`id`, `*_id`) without bounds gets the database's (1 .. 2^63-1);
- a bearer security scheme, set on the operations that need a token.

A route may document a request body it reads itself (a webhook) with `openapi_extra=json_body(Model)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi import utils as openapi_utils
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from jeshkit.security import admin_user, current_user

ID_MAX = 2**63 - 1
ENVELOPE = "ErrorEnvelope"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

DESCRIPTIONS = {
    "400": "Invalid request (validation failures list each field in `errors`)",
    "401": "Missing, invalid or expired access token",
    "403": "Not allowed for this user",
    "404": "Not found (an unknown or malformed id too)",
    "409": "Conflicts with the current state",
    "413": "Request body too large (the gateway's limit)",
    "429": "Too many requests; `Retry-After` says when to try again",
    "502": "An upstream (a peer service, Daraja) or a replica failed",
    "503": "Service temporarily unavailable, please retry",
}
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer", "minimum": 1}}
}


def json_body(model: type[BaseModel], *, description: str = "", required: bool = True) -> dict[str, Any]:
    """`openapi_extra` of a route that reads its body itself: documents `model` as its JSON request body.
    The model's schema is inlined (its own definitions under $defs are moved to components by truthful_openapi)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    body: dict[str, Any] = {"required": required, "content": {"application/json": {"schema": schema}}}
    if description:
        body["description"] = description
    return {"requestBody": body}


def install_openapi(app: FastAPI) -> None:
    """Replace app.openapi() with the corrected document (built once, then cached like FastAPI's)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title, version=app.version, openapi_version=app.openapi_version,
                description=app.description, routes=app.routes,
            )
            app.openapi_schema = truthful_openapi(spec, app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def truthful_openapi(spec: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    _add_envelope(schemas)
    _hoist_defs(spec, schemas)
    _fix_bounds(spec)
    routes = {
        (method.lower(), route.path_format): route for route in _api_routes(app) for method in route.methods or ()
    }
    needs_token = False
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            route = routes.get((method, path))
            calls = set(_dependency_calls(route.dependant)) if route else set()
            authenticated = current_user in calls or admin_user in calls
            needs_token |= authenticated
            _fix_parameters(operation)
            _declare_errors(operation, authenticated=authenticated, admin=admin_user in calls)
            if authenticated:
                operation["security"] = [{"bearer": []}]
    if needs_token:
        spec["components"].setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "an access token from /api/auth/login, /register or /refresh (EdDSA-signed JWT)",
        }
    return spec


def _api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every APIRoute, included routers too (FastAPI >= 0.160 includes routers lazily), as get_openapi sees them."""
    iter_contexts = getattr(routing, "iter_route_contexts", None)
    as_api_route = getattr(openapi_utils, "_get_api_route_for_openapi", None)
    if iter_contexts is None or as_api_route is None:  # an older FastAPI: routes are flat
        yield from (route for route in app.routes if isinstance(route, APIRoute))
        return
    for context in iter_contexts(app.routes):
        route = as_api_route(context)
        if route is not None:
            yield route


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


def _add_envelope(schemas: dict[str, Any]) -> None:
    schemas.setdefault("FieldError", {
        "type": "object", "title": "FieldError", "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "title": "Field"},
            "message": {"type": "string", "title": "Message"},
        },
    })
    schemas[ENVELOPE] = {
        "type": "object",
        "title": ENVELOPE,
        "description": "Every error: one readable sentence; `errors` only for validation failures.",
        "required": ["success", "message"],
        "properties": {
            "success": {"type": "boolean", "const": False, "title": "Success"},
            "message": {"type": "string", "minLength": 1, "title": "Message"},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}, "title": "Errors"},
        },
    }


def _hoist_defs(node: Any, schemas: dict[str, Any]) -> None:
    """Schemas inlined by json_body() carry their own $defs: move them to components/schemas."""
    if isinstance(node, dict):
        defs = node.pop("$defs", None)
        if isinstance(defs, dict):
            for name, schema in defs.items():
                schemas.setdefault(name, schema)
                _hoist_defs(schema, schemas)
        for value in list(node.values()):
            _hoist_defs(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_defs(value, schemas)


LEAKED_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _fix_bounds(node: Any) -> None:
    """Bounds as JSON Schema: pydantic's `ge`/`le`/`gt`/`lt` (left as such when a validator precedes Field()) become
    minimum/maximum..., and an integer's bounds are integers (2**63 - 1 stays exact, not 9.223372036854776e18)."""
    if isinstance(node, dict):
        if "type" in node or "anyOf" in node:
            for leaked, keyword in LEAKED_BOUNDS.items():
                if leaked in node and isinstance(node[leaked], (int, float)) and not isinstance(node[leaked], bool):
                    node.setdefault(keyword, node.pop(leaked))
        if node.get("type") == "integer":
            for keyword in BOUNDS:
                value = node.get(keyword)
                if isinstance(value, float):
                    node[keyword] = ID_MAX if value >= ID_MAX else (-ID_MAX - 1 if value <= -ID_MAX - 1 else int(value))
            if node.get("exclusiveMinimum") is not None and "minimum" not in node:
                node["minimum"] = node.pop("exclusiveMinimum") + 1
            if node.get("exclusiveMaximum") is not None and "maximum" not in node:
                node["maximum"] = node.pop("exclusiveMaximum") - 1
        for value in node.values():
            _fix_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _fix_bounds(value)


def _fix_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        options = schema.get("anyOf")
        if isinstance(options, list):
            kept = [option for option in options if option.get("type") != "null"]
            if len(kept) == 1 and len(kept) < len(options):
                schema.pop("anyOf")
                schema.update(kept[0])
        name = parameter.get("name", "")
        if schema.get("type") == "integer" and (name == "id" or name.endswith("_id")):
            schema.setdefault("minimum", 1)
            schema.setdefault("maximum", ID_MAX)


def _declare_errors(operation: dict[str, Any], *, authenticated: bool, admin: bool) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    # 400 everywhere: besides validation, jeshkit's InputSanityMiddleware refuses a NUL or a lone surrogate in
    # any path, query string or JSON body, whatever the route (a webhook included).
    codes = {"400", "429", "502", "503"}
    if has_body:
        codes.add("413")
    if any(p.get("in") == "path" for p in parameters):
        codes.add("404")
    if authenticated:
        codes.add("401")
    if admin:
        codes.add("403")
    for code in codes | {c for c in responses if c in DESCRIPTIONS}:
        response = responses.setdefault(code, {})
        if response.get("description") in (None, "", "Error") or "content" not in response:
            response["description"] = DESCRIPTIONS[code]
        response["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ENVELOPE}"}}}
        if code == "429":
            response.setdefault("headers", {}).update(RETRY_AFTER)
