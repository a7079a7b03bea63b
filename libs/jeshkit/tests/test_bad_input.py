"""Text no service can store (NUL, lone surrogates) and out-of-range dates answer 400, once, in the kit."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel

from jeshkit.app import create_service_app
from jeshkit.settings import ServiceSettings


class Thing(BaseModel):
    name: str
    tags: list[str] = []
    extra: dict[str, Any] = {}


router = APIRouter(prefix="/api/things")


@router.post("")
def create(thing: Thing) -> dict[str, Any]:
    return {"success": True, "data": thing.model_dump()}


@router.get("")
def search(size: str | None = None) -> dict[str, Any]:
    return {"success": True, "data": size}


@router.get("/by-day")
def by_day(day: date) -> dict[str, Any]:
    nairobi = ZoneInfo("Africa/Nairobi")
    start = datetime.combine(day, time.min, tzinfo=nairobi).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=nairobi)
    return {"success": True, "data": [start.isoformat(), end.isoformat()]}


@router.get("/{key}")
def one(key: str) -> dict[str, Any]:
    return {"success": True, "data": key}


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = create_service_app(ServiceSettings(service_name="kit"), title="kit", routers=[router])
    return TestClient(app, raise_server_exceptions=False)  # no lifespan: no database needed


def post_json(client: TestClient, document: Any) -> Any:
    # Escaped as JSON allows (\\ud800): httpx's own encoder would refuse a lone surrogate.
    return client.post("/api/things", content=json.dumps(document), headers={"content-type": "application/json"})


def refused(r: Any, field: str) -> None:
    assert r.status_code == 400, r.text
    assert r.json() == {"success": False, "message": "Invalid request", "errors": [
        {"field": field, "message": "must not contain NUL characters or unpaired surrogates"}]}


@pytest.mark.parametrize("bad", ["a\u0000b", "\ud800", "x\udfffy"])
def test_bad_text_in_a_json_body_is_400(client: TestClient, bad: str) -> None:
    refused(post_json(client, {"name": bad}), "name")
    refused(post_json(client, {"name": "ok", "tags": ["fine", bad]}), "tags.1")
    refused(post_json(client, {"name": "ok", "extra": {bad: 1}}), "extra")


@pytest.mark.parametrize("body", [b'{"name": "x"', b"not json", b'{"name": "x",}'])
def test_a_body_that_is_not_json_names_the_body_not_a_position(client: TestClient, body: bytes) -> None:
    r = client.post("/api/things", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Request body must be a JSON object"
    assert [e["field"] for e in r.json()["errors"]] == ["body"]  # was the parser's character position ("1")


def test_a_body_nested_too_deep_is_400_not_500(client: TestClient) -> None:
    # With a \u in it the kit reads it to look for refused text: a RecursionError before (a 500, a stack trace).
    body = b'["\\u0041",' + b"[" * 3000
    r = client.post("/api/things", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False


def not_found(r: Any) -> None:
    assert r.status_code == 404, r.text
    assert r.json() == {"success": False, "message": "Not found"}


def test_bad_text_in_a_query_is_400_and_in_a_path_404(client: TestClient) -> None:
    refused(client.get("/api/things?size=%00"), "size")
    refused(client.get("/api/things?size=a%ED%A0%80"), "size")
    # A path no resource can have: the contract's "a malformed id is 404 too".
    not_found(client.get("/api/things/ab%00cd"))
    not_found(client.get("/api/things/%ED%A0%80"))
    not_found(client.post("/api/things/ab%00cd", json={"name": "x"}))


def test_good_text_passes_untouched(client: TestClient) -> None:
    name = "Wanjiku \U0001f600 \\u0000 literally"  # an emoji is a surrogate pair in JSON: fine
    r = client.post("/api/things", json={"name": name, "tags": ["ü"]})
    assert r.status_code == 200 and r.json()["data"]["name"] == name
    assert client.get("/api/things?size=Small%20%C3%BC").json()["data"] == "Small ü"
    assert client.get("/api/things/k%C3%BC").json()["data"] == "kü"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_date_at_the_edge_of_the_calendar_is_400(client: TestClient, day: str) -> None:
    r = client.get(f"/api/things/by-day?day={day}")
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False


def test_request_id_slash_and_refusal_share_one_layer(client: TestClient) -> None:
    """RequestMiddleware: the caller's X-Request-Id is echoed (a new one made without it), a collection path
    answers with its trailing slash (no redirect), and a refusal carries the request id too."""
    given = client.get("/api/things/", headers={"X-Request-Id": "abc-123"})
    assert given.status_code == 200 and given.json()["data"] is None
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/api/things/key/", params={"size": "s"})
    assert made.status_code == 200 and made.json()["data"] == "key"
    assert len(made.headers["x-request-id"]) == 32
    bad = client.get("/api/things/a%00b/", headers={"X-Request-Id": "r-9"})
    not_found(bad)
    assert bad.headers["x-request-id"] == "r-9"
    assert client.get("/api/things/caf%C3%A9").json()["data"] == "café"
