"""The web portal's refresh token lives in an HttpOnly cookie (X-Jesh-Session: cookie); without the header nothing
changes for the compat frontend."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

COOKIE_MODE = {"X-Jesh-Session": "cookie"}
PASSWORD = "correct horse 1"


def set_cookie(response: Any) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


def assert_cleared(response: Any) -> None:
    cleared = set_cookie(response)["jesh_refresh"]
    assert cleared.value == "" and int(cleared["max-age"]) == 0 and cleared["path"] == "/api/auth"
    assert cleared["httponly"]


def test_in_cookie_mode_the_refresh_token_is_an_httponly_cookie_that_rotates(auth, register, bearer):
    register(auth, email="cookie@example.com", headers=COOKIE_MODE)
    auth.cookies.clear()
    login = auth.post("/api/auth/login", json={"email": "cookie@example.com", "password": PASSWORD},
                      headers=COOKIE_MODE)
    assert login.status_code == 200, login.text
    assert login.json()["refresh_token"] is None  # script on the page never sees it
    cookie = set_cookie(login)["jesh_refresh"]
    assert cookie["httponly"] and cookie["samesite"].lower() == "strict" and cookie["path"] == "/api/auth"
    assert int(cookie["max-age"]) == 30 * 24 * 3600 and not cookie["secure"]  # plain HTTP, not production
    first = cookie.value

    rotated = auth.post("/api/auth/refresh", json={}, headers=COOKIE_MODE)  # the client's jar sends the cookie
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] is None
    second = set_cookie(rotated)["jesh_refresh"].value
    assert second != first
    assert auth.get("/api/auth/profile", headers=bearer(rotated.json()["token"])).status_code == 200

    # A spent cookie replayed (a stolen copy) still revokes the family: the current one is dead too.
    auth.cookies.clear()
    replay = auth.post("/api/auth/refresh", json={}, headers={**COOKIE_MODE, "Cookie": f"jesh_refresh={first}"})
    assert replay.status_code == 401
    assert_cleared(replay)  # a refused cookie is of no use to keep: the browser stops sending it
    after = auth.post("/api/auth/refresh", json={}, headers={**COOKIE_MODE, "Cookie": f"jesh_refresh={second}"})
    assert after.status_code == 401
    assert_cleared(after)
    body_mode = auth.post("/api/auth/refresh", json={"refresh_token": second})  # no cookie asked for, none cleared
    assert body_mode.status_code == 401 and not body_mode.headers.get_list("set-cookie")


def test_logout_in_cookie_mode_revokes_the_cookie_s_family_and_clears_it(auth, register, bearer):
    session = register(auth, email="leaving@example.com", headers=COOKIE_MODE).json()
    assert session["refresh_token"] is None
    kept = auth.cookies.get("jesh_refresh")
    assert kept
    out = auth.post("/api/auth/logout", json={}, headers={**COOKIE_MODE, **bearer(session["token"])})
    assert out.status_code == 200, out.text
    assert_cleared(out)
    again = auth.post("/api/auth/refresh", json={}, headers={**COOKIE_MODE, "Cookie": f"jesh_refresh={kept}"})
    assert again.status_code == 401


def test_without_the_header_the_cookie_is_ignored_and_the_body_carries_the_token(auth, register):
    register(auth, email="both@example.com", headers=COOKIE_MODE)  # the client's jar now holds a cookie
    body_mode = auth.post("/api/auth/login", json={"email": "both@example.com", "password": PASSWORD})
    assert isinstance(body_mode.json()["refresh_token"], str)
    assert not body_mode.headers.get_list("set-cookie")
    missing = auth.post("/api/auth/refresh", json={})  # the cookie is there, but not asked for
    assert missing.status_code == 400
    assert missing.json()["errors"] == [{"field": "refresh_token", "message": "Field required"}]
    assert auth.post("/api/auth/refresh", json={"refresh_token": None}).status_code == 400
    assert auth.post("/api/auth/refresh", json={}, headers=COOKIE_MODE).status_code == 200  # asked for: used


def test_a_malformed_cookie_is_refused_not_a_crash(auth):
    for junk in ("x" * 600, "a%00b"):
        r = auth.post("/api/auth/refresh", json={}, headers={**COOKIE_MODE, "Cookie": f"jesh_refresh={junk}"})
        assert r.status_code == 401, (junk[:10], r.text)
        assert_cleared(r)
    auth.cookies.clear()
    assert auth.post("/api/auth/refresh", json={}, headers=COOKIE_MODE).status_code == 400  # no cookie at all


def test_over_https_or_in_production_the_cookie_is_secure(auth, register):
    plain = register(auth, email="tls@example.com", headers=COOKIE_MODE)
    assert not set_cookie(plain)["jesh_refresh"]["secure"]
    r = auth.post("https://testserver/api/auth/login", json={"email": "tls@example.com", "password": PASSWORD},
                  headers=COOKIE_MODE)
    assert r.status_code == 200, r.text
    assert set_cookie(r)["jesh_refresh"]["secure"]
    settings = auth.app.state.settings
    auth.app.state.settings = settings.model_copy(update={"environment": "production"})
    try:
        r = auth.post("/api/auth/login", json={"email": "tls@example.com", "password": PASSWORD}, headers=COOKIE_MODE)
        assert set_cookie(r)["jesh_refresh"]["secure"]  # behind a proxy that did not say https
    finally:
        auth.app.state.settings = settings
