"""Each service's committed OpenAPI document (contracts/openapi/) is what its code serves."""

import json

import pytest
from export_openapi import OPENAPI_DIR, SERVICES, drift, main, render


@pytest.mark.parametrize("service", SERVICES)
def test_committed_openapi_matches_the_code(service):
    diff = drift(service)
    assert diff == "", f"run .venv/bin/python tools/contracts/export_openapi.py\n{diff[:4000]}"


def test_a_change_in_the_code_is_reported_as_a_diff(tmp_path):
    rendered = render("inventory")
    spec = json.loads(rendered)
    assert spec["paths"], "inventory serves no paths"
    spec["info"]["title"] = "something else"
    (tmp_path / "inventory.json").write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    diff = drift("inventory", tmp_path, rendered=rendered)
    assert '-    "title": "something else"' in diff
    assert drift("booking", tmp_path, rendered=rendered) == "contracts/openapi/booking.json is missing\n"


def test_rendering_is_stable_and_the_check_mode_agrees():
    assert render("auth") == render("auth")
    assert (OPENAPI_DIR / "auth.json").read_text() == render("auth")
    assert main(["--check", "auth"]) == 0


def operations(service):
    spec = json.loads((OPENAPI_DIR / f"{service}.json").read_text())
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield spec, f"{method.upper()} {path}", operation


@pytest.mark.parametrize("service", SERVICES)
def test_no_422_and_every_refusal_is_declared_with_the_envelope(service):
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for _, label, operation in operations(service):
        responses = operation["responses"]
        assert "422" not in responses, label
        parameters = operation.get("parameters", [])
        expected = {"400", "429", "502", "503"}  # 400: validation, or a NUL / lone surrogate anywhere
        if "requestBody" in operation:
            expected.add("413")
        if any(p["in"] == "path" for p in parameters):
            expected.add("404")
        if operation.get("security"):
            expected.add("401")
        assert expected <= set(responses), f"{label}: {sorted(expected - set(responses))} not declared"
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == envelope, f"{label} {code}"
        assert "Retry-After" in responses["429"]["headers"], label
    schemas = json.loads((OPENAPI_DIR / f"{service}.json").read_text())["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorEnvelope"]["required"] == ["success", "message"]


@pytest.mark.parametrize("service", SERVICES)
def test_ids_have_the_databases_range_and_query_parameters_are_never_null(service):
    for _, label, operation in operations(service):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            assert "anyOf" not in schema or all(o.get("type") != "null" for o in schema["anyOf"]), label
            if schema.get("type") == "integer" and parameter["name"].endswith("_id"):
                assert schema["minimum"] >= 1 and schema["maximum"] <= 2**63 - 1, f"{label} {parameter['name']}"


def test_auth_documents_its_real_input_rules():
    schemas = json.loads((OPENAPI_DIR / "auth.json").read_text())["components"]["schemas"]
    register = schemas["RegisterIn"]["properties"]
    assert register["email"]["format"] == "email"
    assert register["phone"]["pattern"] == r"^(?:\+?254|0)[17][0-9]{8}$"
    assert (register["name"]["minLength"], register["name"]["maxLength"]) == (1, 100)
    assert register["password"]["minLength"] == 8
    profile = schemas["ProfileIn"]["properties"]
    assert set(profile) == {"email", "phone", "name"} and "required" not in schemas["ProfileIn"]


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.mark.parametrize("service", SERVICES)
def test_bounds_are_json_schema_and_integer_bounds_are_exact(service):
    spec = json.loads((OPENAPI_DIR / f"{service}.json").read_text())
    for schema in _walk(spec):
        if "type" in schema:
            assert not {"ge", "le", "gt", "lt"} & set(schema), schema
        if schema.get("type") == "integer":
            for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                assert not isinstance(schema.get(keyword), float), schema
                assert schema.get(keyword, 0) <= 2**63 - 1, schema


def test_transport_documents_its_real_limits():
    body = json.loads((OPENAPI_DIR / "transport.json").read_text())["components"]["schemas"]["TransportRequestCreate"]
    distance = body["properties"]["distance"]
    assert (distance["type"], distance["exclusiveMinimum"], distance["maximum"]) == ("number", 0, 500)
    for address in ("pickup_address", "delivery_address"):
        assert (body["properties"][address]["minLength"], body["properties"][address]["maxLength"]) == (1, 255)
