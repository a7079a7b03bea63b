"""GET /internal/users/{id}: an account's facts for peers that missed its UserRegistered (never routed by the
gateway), in that event's shape, read by the peers through jeshkit.internal.InternalUser."""

from __future__ import annotations

from jeshkit.internal import InternalUser
from jeshstack.testing import wait_for


def test_an_account_is_answered_as_its_user_registered_event_gives_it(auth, register, event_bus):
    user = register(auth, email="Peer@Example.com", phone="0712345678", name="Wanjiru Kamau").json()["user"]

    r = auth.get(f"/internal/users/{user['id']}")

    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"success": True, "data": {"user_id": user["id"], "email": "peer@example.com",
                                              "name": "Wanjiru Kamau", "role": "user", "phone": "254712345678",
                                              "closed": False}}
    registered = wait_for(lambda: event_bus.events("UserRegistered"), what="UserRegistered")
    assert [{**e["data"], "closed": False} for e in registered if e["data"]["user_id"] == user["id"]] == [body["data"]]
    assert InternalUser.model_validate(body["data"]).email == "peer@example.com"


def test_an_account_an_operator_closed_says_so_and_reopened_says_so_no_more(auth, register):
    user = register(auth, email="closing@example.com").json()["user"]
    login = auth.post("/api/auth/login", json={"email": "admin@jesh.local", "password": "JeshAdmin2026!"})
    admin = {"Authorization": f"Bearer {login.json()['token']}"}

    assert auth.post(f"/api/auth/users/{user['id']}/close", headers=admin).status_code == 200
    assert auth.get(f"/internal/users/{user['id']}").json()["data"]["closed"] is True
    assert auth.post(f"/api/auth/users/{user['id']}/reopen", headers=admin).status_code == 200
    assert auth.get(f"/internal/users/{user['id']}").json()["data"]["closed"] is False


def test_an_account_without_a_phone_has_phone_null(auth):
    admin = auth.post("/api/auth/login", json={"email": "admin@jesh.local", "password": "JeshAdmin2026!"})
    admin_id = admin.json()["user"]["id"]

    data = auth.get(f"/internal/users/{admin_id}").json()["data"]

    assert (data["role"], data["phone"]) == ("admin", None)


def test_an_unknown_account_is_404_and_so_is_a_malformed_id(auth):
    r = auth.get("/internal/users/987654")
    assert r.status_code == 404
    assert r.json()["success"] is False and r.json()["message"] == "User not found"
    for bad in ("0", "abc", str(2**63)):  # the kit's rule: a malformed id is an unknown id (never a 500)
        r = auth.get(f"/internal/users/{bad}")
        assert (r.status_code, r.json()["success"]) == (404, False), bad


def test_internal_routes_are_not_in_the_public_document(auth):
    paths = auth.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/internal")]
