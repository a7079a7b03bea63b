"""The unit routes: contract shapes, admin rules, validation, events published, the internal endpoint."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import text

from jeshstack.testing import wait_for

UNIT_KEYS = {"id", "unit_number", "size", "dimensions", "monthly_price", "status", "description"}


def test_create_answers_201_with_the_unit_and_publishes_unit_created(client, admin, event_bus):
    body = {"unit_number": " A-101 ", "size": "Medium", "dimensions": "3x3 m", "monthly_price": 5000,
            "description": "Ground floor", "status": "booked", "id": 999}
    response = client.post("/api/units", json=body, headers=admin)

    assert response.status_code == 201, response.text
    payload = response.json()
    assert payload["success"] is True
    unit = payload["data"]
    assert set(unit) == UNIT_KEYS
    assert unit["id"] != 999  # the server picks ids and statuses, never the client
    assert unit == {"id": unit["id"], "unit_number": "A-101", "size": "Medium", "dimensions": "3x3 m",
                    "monthly_price": 5000, "status": "available", "description": "Ground floor"}
    event = wait_for(lambda: event_bus.events("UnitCreated"), what="UnitCreated")[0]
    assert event["source"] == "inventory"
    assert event["data"] == {"unit_id": unit["id"], "unit_number": "A-101", "size": "Medium",
                             "monthly_price": 5000, "bookable": True}


def test_create_without_description_gives_null(client, admin):
    response = client.post("/api/units", json={"unit_number": "B1", "size": "small", "dimensions": "1x1",
                                               "monthly_price": 1}, headers=admin)
    assert response.status_code == 201
    assert response.json()["data"]["description"] is None


def test_duplicate_unit_number_is_409_case_insensitively(client, admin, new_unit):
    new_unit(unit_number="C-7")
    response = client.post("/api/units", json={"unit_number": "c-7", "size": "small", "dimensions": "1x1",
                                               "monthly_price": 100}, headers=admin)
    assert response.status_code == 409
    assert response.json() == {"success": False, "message": "Unit number already exists"}
    assert len(client.get("/api/units").json()["data"]) == 1


def test_concurrent_creates_of_one_unit_number_give_one_unit(client, admin):
    body = {"unit_number": "RACE-1", "size": "small", "dimensions": "1x1", "monthly_price": 100}
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(lambda _: client.post("/api/units", json=body, headers=admin).status_code, range(6)))
    assert codes == [201, 409, 409, 409, 409, 409]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"monthly_price": 10.5}, "monthly_price"),
        ({"monthly_price": "5000"}, "monthly_price"),
        ({"monthly_price": True}, "monthly_price"),
        ({"monthly_price": 0}, "monthly_price"),
        ({"monthly_price": -5}, "monthly_price"),
        ({"monthly_price": 10**12}, "monthly_price"),
        ({"monthly_price": None}, "monthly_price"),
        ({"unit_number": "   "}, "unit_number"),
        ({"unit_number": 101}, "unit_number"),
        ({"unit_number": "x" * 51}, "unit_number"),
        ({"size": ""}, "size"),
        ({"dimensions": None}, "dimensions"),
        ({"description": "d" * 2001}, "description"),
    ],
)
def test_create_rejects_invalid_fields_with_400(client, admin, changes, field):
    body = {"unit_number": "V-1", "size": "small", "dimensions": "1x1", "monthly_price": 100}
    body.update(changes)
    response = client.post("/api/units", json=body, headers=admin)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["success"] is False
    assert field in {error["field"] for error in payload["errors"]}
    assert client.get("/api/units").json()["data"] == []


def test_create_rejects_missing_fields_and_non_objects(client, admin):
    missing = client.post("/api/units", json={"unit_number": "V-1"}, headers=admin)
    assert missing.status_code == 400
    assert {e["field"] for e in missing.json()["errors"]} == {"size", "dimensions", "monthly_price"}
    for raw in ("[]", "not json", ""):
        response = client.post("/api/units", content=raw, headers={**admin, "Content-Type": "application/json"})
        assert response.status_code == 400, raw
        assert response.json()["success"] is False


def test_create_needs_an_admin(client, signing_keys):
    body = {"unit_number": "A-1", "size": "small", "dimensions": "1x1", "monthly_price": 100}
    anonymous = client.post("/api/units", json=body)
    assert anonymous.status_code == 401
    assert anonymous.json()["success"] is False
    user = client.post("/api/units", json=body, headers=signing_keys.headers(5, "user"))
    assert user.status_code == 403
    assert user.json() == {"success": False, "message": "Unauthorized"}
    expired = client.post("/api/units", json=body,
                          headers={"Authorization": f"Bearer {signing_keys.token(1, 'admin', expires_in=-10)}"})
    assert expired.status_code == 401
    assert client.get("/api/units").json()["data"] == []


def test_list_answers_with_and_without_trailing_slash(client, new_unit):
    first = new_unit(unit_number="L-1")
    second = new_unit(unit_number="L-2")
    for path in ("/api/units", "/api/units/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"success": True, "data": [first, second]}


def test_get_one_unit_and_unknown_or_malformed_ids_are_404(client, new_unit):
    unit = new_unit()
    response = client.get(f"/api/units/{unit['id']}")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": unit}
    for path in ("/api/units/999999", "/api/units/abc", "/api/units/1.5", "/api/units/99999999999999999999999"):
        missing = client.get(path)
        assert missing.status_code == 404, path
        assert missing.json()["success"] is False


def test_put_updates_any_subset_and_publishes_unit_updated(client, admin, new_unit, event_bus):
    unit = new_unit(unit_number="P-1", description="old")
    response = client.put(f"/api/units/{unit['id']}", json={"monthly_price": 4500, "size": "large",
                                                            "unit_number": "IGNORED"}, headers=admin)
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Unit updated",
                               "data": {**unit, "monthly_price": 4500, "size": "large"}}

    cleared = client.put(f"/api/units/{unit['id']}", json={"description": None, "dimensions": "4x4 m"}, headers=admin)
    assert cleared.json()["data"]["description"] is None
    assert cleared.json()["data"]["dimensions"] == "4x4 m"
    assert client.get(f"/api/units/{unit['id']}").json()["data"] == cleared.json()["data"]

    updates = wait_for(lambda: (e := event_bus.events("UnitUpdated")) and len(e) == 2 and e, what="two UnitUpdated")
    assert updates[0]["data"] == {"unit_id": unit["id"], "unit_number": "P-1", "size": "large",
                                  "monthly_price": 4500, "bookable": True}


def test_put_that_changes_nothing_publishes_nothing(client, admin, new_unit, event_bus, service_db):
    unit = new_unit(monthly_price=3000)
    response = client.put(f"/api/units/{unit['id']}", json={"monthly_price": 3000, "status": "available"},
                          headers=admin)
    assert response.status_code == 200
    with service_db.connect() as conn:
        types = conn.execute(text("SELECT type FROM outbox ORDER BY created_at")).scalars().all()
    assert types == ["UnitCreated"]


def test_maintenance_is_set_and_cleared_by_an_admin(client, admin, new_unit, event_bus):
    unit = new_unit(unit_number="M-1")
    response = client.put(f"/api/units/{unit['id']}", json={"status": "maintenance"}, headers=admin)
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "maintenance"
    assert client.get(f"/api/units/{unit['id']}").json()["data"]["status"] == "maintenance"

    back = client.put(f"/api/units/{unit['id']}", json={"status": "available"}, headers=admin)
    assert back.status_code == 200
    assert back.json()["data"]["status"] == "available"

    updates = wait_for(lambda: (e := event_bus.events("UnitUpdated")) and len(e) == 2 and e, what="two UnitUpdated")
    assert [e["data"]["bookable"] for e in updates] == [False, True]


def test_status_booked_cannot_be_set_by_hand(client, admin, new_unit):
    unit = new_unit()
    response = client.put(f"/api/units/{unit['id']}", json={"status": "booked"}, headers=admin)
    assert response.status_code == 409
    assert response.json()["success"] is False
    assert client.get(f"/api/units/{unit['id']}").json()["data"]["status"] == "available"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "broken"},
        {"status": None},
        {"monthly_price": 10.5},
        {"monthly_price": "100"},
        {"monthly_price": False},
        {"monthly_price": 0},
        {"size": "  "},
        {"size": None},
        {},
        {"unit_number": "only-unknown-fields"},
    ],
)
def test_put_rejects_invalid_or_empty_bodies_with_400(client, admin, new_unit, body):
    unit = new_unit()
    response = client.put(f"/api/units/{unit['id']}", json=body, headers=admin)
    assert response.status_code == 400, response.text
    assert response.json()["success"] is False
    assert client.get(f"/api/units/{unit['id']}").json()["data"] == unit


def test_put_needs_an_admin_and_a_known_unit(client, admin, new_unit, signing_keys):
    unit = new_unit()
    user = client.put(f"/api/units/{unit['id']}", json={"monthly_price": 1}, headers=signing_keys.headers(3))
    assert user.status_code == 403
    assert user.json() == {"success": False, "message": "Unauthorized"}
    assert client.put(f"/api/units/{unit['id']}", json={"monthly_price": 1}).status_code == 401
    assert client.put("/api/units/424242", json={"monthly_price": 1}, headers=admin).status_code == 404
    assert client.put("/api/units/nope", json={"monthly_price": 1}, headers=admin).status_code == 404
    assert client.get(f"/api/units/{unit['id']}").json()["data"]["monthly_price"] == 3000


def test_availability_of_a_unit_without_bookings_and_of_an_unknown_unit(client, new_unit):
    unit = new_unit()
    assert client.get(f"/api/units/{unit['id']}/availability").json() == {"success": True, "data": []}
    assert client.get("/api/units/777/availability").status_code == 404


def test_internal_unit_gives_what_booking_needs(client, admin, new_unit):
    unit = new_unit(unit_number="I-1", size="large", monthly_price=9000)
    response = client.get(f"/internal/units/{unit['id']}")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"unit_id": unit["id"], "unit_number": "I-1", "size": "large",
                                                         "monthly_price": 9000, "bookable": True}}
    client.put(f"/api/units/{unit['id']}", json={"status": "maintenance"}, headers=admin)
    assert client.get(f"/internal/units/{unit['id']}").json()["data"]["bookable"] is False
    missing = client.get("/internal/units/31337")
    assert missing.status_code == 404
    assert missing.json()["success"] is False


def test_openapi_documents_the_public_routes_only(client):
    paths: dict[str, Any] = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {"/api/units", "/api/units/{unit_id}", "/api/units/{unit_id}/availability",
                          "/api/units/admin/dead-letters", "/api/units/admin/dead-letters/{letter_id}/replay",
                          "/api/units/admin/audit",
                          "/api/units/reports/occupancy"}
    assert set(paths["/api/units"]) == {"get", "post"}
    assert set(paths["/api/units/{unit_id}"]) == {"get", "put"}


def test_the_parked_messages_route_is_not_taken_for_a_unit_id(client, admin):
    r = client.get("/api/units/admin/dead-letters", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "data": []}
    assert client.get("/api/units/admin/dead-letters").status_code == 401
