"""PATCH /api/auth/profile: any of name, phone, email, by the rules of registration; UserUpdated."""

from __future__ import annotations

import json

import pytest

from jeshstack.testing import wait_for


def signed_up(auth, register, **fields):
    body = register(auth, **fields).json()
    return body["user"], {"Authorization": f"Bearer {body['token']}"}


def test_each_field_can_change_and_the_answer_is_the_profile(auth, register):
    user, headers = signed_up(auth, register, email="before@example.com", name="Before Name")

    r = auth.patch("/api/auth/profile", json={"name": "  After Name ", "phone": "+254 110 123 456",
                                               "email": " After@Example.com"}, headers=headers)

    assert r.status_code == 200, r.text
    assert r.json() == {"id": user["id"], "email": "after@example.com", "name": "After Name",
                        "phone": "254110123456", "role": "user"}
    assert auth.get("/api/auth/profile", headers=headers).json() == r.json()
    # The new email signs in; the old one no longer does.
    login = auth.post("/api/auth/login", json={"email": "after@example.com", "password": "correct horse 1"})
    assert login.status_code == 200
    assert auth.post("/api/auth/login", json={"email": "before@example.com",
                                              "password": "correct horse 1"}).status_code == 401


def test_one_field_leaves_the_others_alone(auth, register):
    user, headers = signed_up(auth, register, email="one@example.com", name="One Field")

    r = auth.patch("/api/auth/profile", json={"phone": "0798765432"}, headers=headers)

    assert r.status_code == 200
    assert r.json() == {"id": user["id"], "email": "one@example.com", "name": "One Field",
                        "phone": "254798765432", "role": "user"}


def test_an_email_already_taken_is_409_and_changes_nothing(auth, register):
    register(auth, email="taken@example.com")
    _, headers = signed_up(auth, register, email="mine@example.com", name="Mine")

    r = auth.patch("/api/auth/profile", json={"email": " TAKEN@example.com", "name": "Changed"}, headers=headers)

    assert r.status_code == 409
    assert r.json() == {"success": False, "message": "Email already registered"}
    assert auth.get("/api/auth/profile", headers=headers).json()["name"] == "Mine"
    # One's own email is not "taken".
    assert auth.patch("/api/auth/profile", json={"email": "MINE@example.com"}, headers=headers).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"phone": "12345"}, "phone"),
    ({"phone": "07\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668"}, "phone"),  # 409 "Email already registered" before
    ({"email": "not-an-email"}, "email"),
    ({"email": "erased-1@erased.invalid"}, "email"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": None}, "name"),
])
def test_the_rules_of_registration_apply(auth, register, body, field):
    _, headers = signed_up(auth, register, name="Unchanged")

    r = auth.patch("/api/auth/profile", json=body, headers=headers)

    assert r.status_code == 400, r.text
    assert r.json()["success"] is False
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert auth.get("/api/auth/profile", headers=headers).json()["name"] == "Unchanged"


def test_nothing_to_change_is_400_and_a_token_is_needed(auth, register):
    _, headers = signed_up(auth, register)

    assert auth.patch("/api/auth/profile", json={}, headers=headers).status_code == 400
    assert auth.patch("/api/auth/profile", json={"name": "Nobody"}).status_code == 401


def test_an_update_publishes_user_updated_with_the_whole_profile(auth, register, event_bus):
    user, headers = signed_up(auth, register, email="evented-update@example.com", name="Old")

    auth.patch("/api/auth/profile", json={"name": "New Name"}, headers=headers)
    auth.patch("/api/auth/profile", json={"name": "New Name"}, headers=headers)  # no change: no event

    events = wait_for(lambda: event_bus.events("UserUpdated"), what="UserUpdated")
    assert [e["data"] for e in events] == [{"user_id": user["id"], "email": "evented-update@example.com",
                                           "phone": "254712345678", "name": "New Name", "role": "user"}]
    assert events[0]["source"] == "auth"


@pytest.mark.parametrize("field, value", [
    ("name", "Wan\u0000jiru"), ("name", "Wan\ud800jiru"), ("name", "Two\nlines"),
    ("email", "a\u0000b@example.com"), ("phone", "0712\u0000345678"),
])
def test_nul_control_characters_and_lone_surrogates_are_400_not_500(auth, register, field, value):
    _, headers = signed_up(auth, register, name="Clean")

    # Sent as JSON text: a lone surrogate is only expressible as an escape.
    body = json.dumps({field: value})  # ASCII JSON: a lone surrogate as its escape
    patched = auth.patch("/api/auth/profile", content=body, headers={**headers, "Content-Type": "application/json"})
    registered = register(auth, **{field: value}) if "\ud800" not in value else None

    assert patched.status_code == 400, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == [field]
    if registered is not None:
        assert registered.status_code == 400, registered.text


@pytest.mark.parametrize("body", [
    '{"email": "a\\u0000b@example.com", "password": "x"}',
    '{"email": "a\\ud800b@example.com", "password": "x"}',
    '{"email": "a@example.com", "password": "x\\u0000"}',
])
def test_login_with_unstorable_text_is_400(auth, body):
    r = auth.post("/api/auth/login", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
