"""A NUL or a lone surrogate in what a client sends is 400, never a 500 from the database (issue 12 item 10)."""

import json

import pytest

BAD = ["Wanjiru\u0000Kamau", "Wanjiru \ud800"]


def post_json(client, path, document):
    return client.post(path, content=json.dumps(document), headers={"content-type": "application/json"})


@pytest.mark.parametrize("bad", BAD)
def test_register_with_bad_text_in_the_name_is_400(auth, bad):
    body = {"email": "nul@example.com", "phone": "0712345678", "name": bad, "password": "Str0ng-Passw0rd!"}
    r = post_json(auth, "/api/auth/register", body)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "name"


@pytest.mark.parametrize("bad", ["a\u0000@example.com", "a\udfff@example.com"])
def test_login_with_bad_text_in_the_email_is_400(auth, bad):
    r = post_json(auth, "/api/auth/login", {"email": bad, "password": "whatever-it-is"})
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False
