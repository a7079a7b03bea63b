"""GET /api/transport-requests/{user_id} (compat) and GET /api/transport-requests (planning list)."""

from __future__ import annotations

from typing import Any

import pytest

URL = "/api/transport-requests"


def test_a_user_lists_their_own_requests_newest_first(t: Any) -> None:
    first = t.create(user_id=1)
    t.create(user_id=2)
    second = t.create(user_id=1)
    response = t.client.get(f"{URL}/1", headers=t.as_user(1))
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert [item["id"] for item in body["data"]] == [second, first]
    assert {item["user_id"] for item in body["data"]} == {1}


def test_an_admin_lists_any_users_requests(t: Any) -> None:
    request_id = t.create(user_id=2)
    response = t.client.get(f"{URL}/2", headers=t.as_user(900, "admin"))
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["data"]] == [request_id]


def test_a_user_without_requests_gets_an_empty_list(t: Any) -> None:
    response = t.client.get(f"{URL}/3", headers=t.as_user(3))
    assert response.json() == {"success": True, "data": []}


def test_another_users_list_is_403_unauthorized(t: Any) -> None:
    t.create(user_id=2)
    response = t.client.get(f"{URL}/2", headers=t.as_user(1))
    assert response.status_code == 403
    assert response.json() == {"success": False, "message": "Unauthorized"}


def test_the_user_list_needs_a_token(t: Any) -> None:
    assert t.client.get(f"{URL}/1").status_code == 401


@pytest.mark.parametrize("user_id", ["abc", "1.5", "99999999999999999999"])
def test_a_malformed_user_id_is_404(t: Any, user_id: str) -> None:
    response = t.client.get(f"{URL}/{user_id}", headers=t.as_user(900, "admin"))
    assert response.status_code == 404
    assert response.json()["success"] is False


# --- the planning list ------------------------------------------------------------------------------
def seed(t: Any) -> dict[str, int]:
    """Four requests around the Nairobi day 2030-03-04 (UTC+3), in several statuses."""
    ids = {
        "late_on_3rd": t.create(user_id=1, preferred_time="2030-03-03T20:59:00Z"),  # 23:59 on the 3rd in Nairobi
        "early_on_4th": t.create(user_id=2, preferred_time="2030-03-03T21:00:00Z"),  # 00:00 on the 4th in Nairobi
        "late_on_4th": t.create(user_id=1, preferred_time="2030-03-04T23:30:00+03:00"),
        "on_5th": t.create(user_id=2, preferred_time="2030-03-05T08:00:00+03:00"),
    }
    assert t.patch_status(ids["early_on_4th"], "scheduled").status_code == 200
    assert t.patch_status(ids["on_5th"], "cancelled").status_code == 200
    return ids


def listed(t: Any, query: str = "", *, user_id: int = 900, role: str = "admin") -> list[int]:
    response = t.client.get(f"{URL}{query}", headers=t.as_user(user_id, role))
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    return [item["id"] for item in response.json()["data"]]


def test_admin_list_has_everybodys_requests_by_preferred_time(t: Any) -> None:
    later = t.create(user_id=1, preferred_time="2030-03-05T08:00:00Z")
    earlier = t.create(user_id=2, preferred_time="2030-03-01T08:00:00Z")
    ids = (later, earlier)
    assert listed(t) == [ids[1], ids[0]]
    assert listed(t, "/") == [ids[1], ids[0]]  # the collection answers with the trailing slash too


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status=scheduled", ["early_on_4th"]),
        ("?status=requested", ["late_on_3rd", "late_on_4th"]),
        ("?status=completed", []),
        ("?date=2030-03-04", ["early_on_4th", "late_on_4th"]),
        ("?from=2030-03-04", ["early_on_4th", "late_on_4th", "on_5th"]),
        ("?to=2030-03-04", ["late_on_3rd", "early_on_4th", "late_on_4th"]),
        ("?from=2030-03-03&to=2030-03-04", ["late_on_3rd", "early_on_4th", "late_on_4th"]),
        ("?from=2030-03-04&to=2030-03-04&status=requested", ["late_on_4th"]),
        ("?user_id=2", ["early_on_4th", "on_5th"]),
        ("?from=2030-03-06", []),
    ],
)
def test_admin_list_filters(t: Any, query: str, expected: list[str]) -> None:
    ids = seed(t)
    assert listed(t, query) == [ids[name] for name in expected]


def test_a_non_admin_lists_only_their_own_requests(t: Any) -> None:
    ids = seed(t)
    assert listed(t, user_id=1, role="user") == [ids["late_on_3rd"], ids["late_on_4th"]]
    assert listed(t, "?user_id=2", user_id=1, role="user") == [ids["late_on_3rd"], ids["late_on_4th"]]
    assert listed(t, "?date=2030-03-04", user_id=1, role="user") == [ids["late_on_4th"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=lost", "status"),
        ("?from=yesterday", "from"),
        ("?to=2030-02-30", "to"),
        ("?date=03/04/2030", "date"),
        ("?from=2030-03-05&to=2030-03-04", "to"),
        ("?user_id=abc", "user_id"),
    ],
)
def test_bad_list_filters_are_400(t: Any, query: str, field: str) -> None:
    response = t.client.get(f"{URL}{query}", headers=t.as_user(900, "admin"))
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]


def test_the_planning_list_needs_a_token(t: Any) -> None:
    assert t.client.get(URL).status_code == 401
