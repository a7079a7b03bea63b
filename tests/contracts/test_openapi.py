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
