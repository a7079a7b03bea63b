"""Refresh tokens (rotation, reuse detection, expiry), logout, and the purge job."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import jwt
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from auth.service import purge_expired


def refresh(client, token):
    return client.post("/api/auth/refresh", json={"refresh_token": token})


def test_refresh_rotates_both_tokens(auth, register, bearer):
    first = register(auth, email="rotating@example.com").json()

    second = refresh(auth, first["refresh_token"])
    third = refresh(auth, second.json()["refresh_token"])

    for r in (second, third):
        assert r.status_code == 200
        body = r.json()
        assert body["success"] is True
        assert body["user"] == first["user"]
    assert len({first["refresh_token"], second.json()["refresh_token"], third.json()["refresh_token"]}) == 3
    assert auth.get("/api/auth/profile", headers=bearer(third.json()["token"])).status_code == 200


def test_reusing_a_spent_refresh_token_revokes_its_family(auth, register, auth_engine):
    first = register(auth, email="victim@example.com").json()
    other_login = auth.post("/api/auth/login", json={"email": "victim@example.com", "password": "correct horse 1"})
    rotated = refresh(auth, first["refresh_token"]).json()

    replay = refresh(auth, first["refresh_token"])
    after = refresh(auth, rotated["refresh_token"])

    assert replay.status_code == 401
    assert replay.json()["success"] is False
    assert after.status_code == 401  # the thief's (or the owner's) next token is dead too
    assert refresh(auth, other_login.json()["refresh_token"]).status_code == 200  # another login is untouched
    with auth_engine.connect() as conn:
        reasons = conn.scalars(text("SELECT revoked_reason FROM refresh_families WHERE revoked_at IS NOT NULL"))
        assert list(reasons) == ["reuse"]


def test_unknown_or_malformed_refresh_tokens_are_refused(auth):
    unknown = refresh(auth, "x" * 43)
    missing = auth.post("/api/auth/refresh", json={})
    empty = refresh(auth, "")

    assert unknown.status_code == 401
    assert unknown.json()["success"] is False
    assert missing.status_code == empty.status_code == 400


def test_an_expired_refresh_token_is_refused(start_auth, register):
    client = start_auth(refresh_token_ttl_seconds=1)
    body = register(client).json()

    time.sleep(1.2)

    assert refresh(client, body["refresh_token"]).status_code == 401


def test_refresh_reflects_the_current_role(auth, register, auth_engine):
    body = register(auth, email="promoted@example.com").json()
    with auth_engine.begin() as conn:
        conn.execute(text("UPDATE users SET role = 'admin' WHERE email = 'promoted@example.com'"))

    r = refresh(auth, body["refresh_token"]).json()

    assert r["user"]["role"] == "admin"
    assert jwt.decode(r["token"], options={"verify_signature": False})["role"] == "admin"


def test_concurrent_use_of_one_refresh_token_never_yields_two_live_families(start_auth, register):
    server = start_auth(serve=True)
    body = register(server).json()
    barrier = threading.Barrier(6)
    answers: list[httpx.Response] = []

    def use() -> None:
        with httpx.Client(base_url=str(server.base_url), timeout=30) as client:
            barrier.wait()
            answers.append(refresh(client, body["refresh_token"]))

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    codes = sorted(r.status_code for r in answers)
    assert codes.count(200) <= 1 and set(codes) <= {200, 401}
    # Every other use was a reuse: the family is revoked, so even the one new token is dead.
    for r in answers:
        if r.status_code == 200:
            assert refresh(server, r.json()["refresh_token"]).status_code == 401


def test_logout_revokes_the_family(auth, register, bearer):
    body = register(auth, email="leaving@example.com").json()
    rotated = refresh(auth, body["refresh_token"]).json()
    elsewhere = auth.post("/api/auth/login", json={"email": "leaving@example.com", "password": "correct horse 1"})

    r = auth.post("/api/auth/logout", json={"refresh_token": rotated["refresh_token"]},
                  headers=bearer(rotated["token"]))

    assert r.status_code == 200
    assert r.json() == {"success": True, "message": "Logged out"}
    assert refresh(auth, rotated["refresh_token"]).status_code == 401
    assert refresh(auth, elsewhere.json()["refresh_token"]).status_code == 200
    again = auth.post("/api/auth/logout", json={"refresh_token": rotated["refresh_token"]},
                      headers=bearer(rotated["token"]))
    assert again.status_code == 200


def test_logout_needs_a_token_and_only_touches_the_callers_sessions(auth, register, bearer):
    alice = register(auth, email="alice@example.com").json()
    mallory = register(auth, email="mallory@example.com").json()

    anonymous = auth.post("/api/auth/logout", json={"refresh_token": alice["refresh_token"]})
    by_someone_else = auth.post("/api/auth/logout", json={"refresh_token": alice["refresh_token"]},
                                headers=bearer(mallory["token"]))
    no_body = auth.post("/api/auth/logout", headers=bearer(alice["token"]))

    assert anonymous.status_code == 401
    assert by_someone_else.status_code == 200
    assert no_body.status_code == 400
    assert refresh(auth, alice["refresh_token"]).status_code == 200


def test_purge_removes_only_what_has_expired(auth, register, auth_engine):
    old = register(auth, email="old@example.com").json()
    fresh = register(auth, email="fresh@example.com").json()
    long_ago = datetime.now(UTC) - timedelta(days=2)
    with auth_engine.begin() as conn:
        conn.execute(
            text("UPDATE refresh_tokens SET expires_at = :t WHERE family_id IN (SELECT f.id FROM refresh_families f "
                 "JOIN users u ON u.id = f.user_id WHERE u.email = 'old@example.com')"),
            {"t": long_ago},
        )
        conn.execute(
            text("INSERT INTO login_throttles (email, client_ip, attempts, last_attempt_at) VALUES "
                 "('stale@example.com', '192.0.2.1', 2, :t), ('recent@example.com', '192.0.2.1', 2, now())"),
            {"t": long_ago},
        )
        conn.execute(
            text("INSERT INTO credential_buckets (client_ip, tokens, updated_at) VALUES "
                 "('192.0.2.1', 3, :t), ('192.0.2.2', 3, now())"),
            {"t": long_ago},
        )

    purge_expired(sessionmaker(auth_engine))

    with auth_engine.begin() as conn:
        # The service's own purge job runs once within a second of start: rows it held locked, ours skipped. A SHARE
        # lock waits for its transaction to end, so what follows reads the settled result of both.
        conn.execute(text("LOCK TABLE refresh_tokens, refresh_families, login_throttles, credential_buckets "
                          "IN SHARE MODE"))
        assert conn.scalar(text("SELECT count(*) FROM refresh_tokens")) == 1
        assert list(conn.scalars(text("SELECT email FROM login_throttles"))) == ["recent@example.com"]
        buckets = set(conn.scalars(text("SELECT client_ip FROM credential_buckets")))
        assert "192.0.2.2" in buckets and "192.0.2.1" not in buckets
        families = conn.scalars(text("SELECT u.email FROM refresh_families f JOIN users u ON u.id = f.user_id"))
        assert list(families) == ["fresh@example.com"]
    assert refresh(auth, old["refresh_token"]).status_code == 401
    assert refresh(auth, fresh["refresh_token"]).status_code == 200
