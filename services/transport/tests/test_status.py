"""PATCH /api/transport-requests/{id}/status: the transition table, who may, and the events."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from jeshstack.testing import wait_for

STATUSES = ["requested", "scheduled", "in_progress", "completed", "cancelled"]
ALLOWED = {
    ("requested", "scheduled"),
    ("scheduled", "in_progress"),
    ("in_progress", "completed"),
    ("requested", "cancelled"),
    ("scheduled", "cancelled"),
    ("in_progress", "cancelled"),
}
# How an admin brings a fresh request to each status.
PATH_TO = {
    "requested": [],
    "scheduled": ["scheduled"],
    "in_progress": ["scheduled", "in_progress"],
    "completed": ["scheduled", "in_progress", "completed"],
    "cancelled": ["cancelled"],
}


def bring_to(t: Any, status: str, **overrides: Any) -> int:
    request_id = t.create(**overrides)
    for step in PATH_TO[status]:
        assert t.patch_status(request_id, step).status_code == 200
    return request_id


@pytest.mark.parametrize("current", STATUSES)
def test_transition_table(t: Any, current: str) -> None:
    for target in STATUSES:
        request_id = bring_to(t, current)
        response = t.patch_status(request_id, target)
        move = f"{current} -> {target}"
        if (current, target) in ALLOWED:
            assert response.status_code == 200, (move, response.text)
            body = response.json()
            assert body["success"] is True
            assert body["data"]["id"] == request_id
            assert body["data"]["status"] == target, move
            assert t.statuses()[request_id] == target, move
        else:
            assert response.status_code == 409, (move, response.text)
            assert response.json()["success"] is False
            assert current in response.json()["message"]
            assert t.statuses()[request_id] == current, move


def test_every_change_publishes_transport_status_changed(t: Any) -> None:
    request_id = bring_to(t, "completed", user_id=4)
    t.patch_status(request_id, "cancelled")  # refused: no event
    expected = [
        (None, "requested"),
        ("requested", "scheduled"),
        ("scheduled", "in_progress"),
        ("in_progress", "completed"),
    ]
    events = wait_for(lambda: (e := t.status_events()) and len(e) >= len(expected) and e, what="4 events")
    assert [(e["previous_status"], e["status"]) for e in events] == expected
    assert {(e["request_id"], e["user_id"], e["booking_id"]) for e in events} == {(request_id, 4, None)}


def test_patch_answers_the_whole_request(t: Any) -> None:
    request_id = t.create(user_id=8, distance=20)
    data = t.patch_status(request_id, "scheduled").json()["data"]
    assert data["user_id"] == 8
    assert data["distance"] == 20.0
    assert data["estimated_cost"] == 3000
    assert {
        "id", "user_id", "booking_id", "pickup_address", "delivery_address", "distance", "estimated_cost",
        "preferred_time", "items_description", "status", "created_at",
    } <= set(data)


@pytest.mark.parametrize("status", ["done", "", None, 3, "Scheduled"])
def test_an_unknown_status_value_is_400(t: Any, status: Any) -> None:
    request_id = t.create()
    response = t.patch_status(request_id, status)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["status"]
    assert t.statuses() == {request_id: "requested"}


def test_a_body_without_status_is_400(t: Any) -> None:
    request_id = t.create()
    response = t.client.patch(
        f"/api/transport-requests/{request_id}/status", json={}, headers=t.as_user(900, "admin")
    )
    assert response.status_code == 400


@pytest.mark.parametrize("request_id", ["12345", "abc", "0", "-1", "99999999999999999999"])
def test_an_unknown_or_malformed_id_is_404(t: Any, request_id: str) -> None:
    t.create()
    response = t.client.patch(
        f"/api/transport-requests/{request_id}/status", json={"status": "scheduled"}, headers=t.as_user(900, "admin")
    )
    assert response.status_code == 404
    assert response.json() == {"success": False, "message": response.json()["message"]}


def test_only_an_admin_may_change_a_status(t: Any) -> None:
    request_id = t.create(user_id=1)
    owner = t.patch_status(request_id, "cancelled", headers=t.as_user(1))
    assert owner.status_code == 403
    assert owner.json()["message"] == "Unauthorized"
    anonymous = t.client.patch(f"/api/transport-requests/{request_id}/status", json={"status": "cancelled"})
    assert anonymous.status_code == 401
    assert t.statuses() == {request_id: "requested"}


def test_concurrent_changes_of_one_request_apply_once(
    start_transport: Any, signing_keys: Any, t: Any
) -> None:
    replicas = [start_transport(serve=True), start_transport(serve=True)]
    request_id = t.create()
    headers = signing_keys.headers(900, "admin")

    def schedule(i: int) -> int:
        client = replicas[i % 2]
        return client.patch(
            f"/api/transport-requests/{request_id}/status", json={"status": "scheduled"}, headers=headers
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(schedule, range(8)))
    assert codes == [200] + [409] * 7
    events = wait_for(lambda: (e := t.status_events()) and len(e) >= 2 and e, what="2 events")
    assert [e["status"] for e in events] == ["requested", "scheduled"]
