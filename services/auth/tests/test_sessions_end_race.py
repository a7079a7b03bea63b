"""A refresh or a login racing the end of every session of an account (a password changed, sign out everywhere, the
account closed): once the end has committed, nothing they answered, even when started before it, may still work. Its
refresh token is in a revoked family (or there is none), and its access token must be older than SessionsEnded's
`before` (the rule every service applies)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from typing import Any

import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from auth import password_change, service
from auth.passwords import Passwords
from jeshkit.errors import Forbidden, Unauthorized
from jeshkit.sessions import EndedSessions

PASSWORD = "correct horse 1"
NEW_PASSWORD = "battery staple 2"


def sessions_ended(engine, user_id: int) -> EndedSessions:
    """What every service knows once the account's staged SessionsEnded has come round."""
    ended = EndedSessions()
    with engine.connect() as conn:
        befores = conn.scalars(text(
            "SELECT payload->'data'->>'before' FROM outbox WHERE payload->>'type' = 'SessionsEnded' "
            "AND (payload->'data'->>'user_id')::bigint = :user"), {"user": user_id}).all()
    assert befores, "no SessionsEnded staged"
    for before in befores:
        ended.end(user_id, datetime.fromisoformat(before))
    return ended


def refused(ended: EndedSessions, user_id: int, access_token: str) -> bool:
    iat = jwt.decode(access_token, options={"verify_signature": False})["iat"]
    return ended.ended(user_id, round(float(iat) * 1000))


def assert_nothing_outlives(client: Any, engine, user_id: int, answer: Any) -> None:
    """The refresh was refused, or what it gave no longer works."""
    if answer.status_code == 401:
        return
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert client.post("/api/auth/refresh", json={"refresh_token": body["refresh_token"]}).status_code == 401
    assert refused(sessions_ended(engine, user_id), user_id, body["token"]), \
        "an access token minted by a refresh that raced the end of the sessions is still accepted"


class PausedHashing(Passwords):
    """Hashing the new password waits until the test says so: the refresh happens meanwhile."""

    def __init__(self) -> None:
        super().__init__(memory_kib=1024, time_cost=1, parallelism=1)
        self.hashing = threading.Event()
        self.go_on = threading.Event()

    def hash(self, password: str) -> str:
        if password == NEW_PASSWORD:
            self.hashing.set()
            assert self.go_on.wait(10)
        return super().hash(password)


def test_a_refresh_while_the_password_changes_mints_nothing_that_outlives_the_change(auth, register, auth_engine):
    first = register(auth, email="changing@example.com").json()
    user_id = first["user"]["id"]
    passwords = PausedHashing()
    credentials = dataclasses.replace(auth.app.state.credentials, passwords=passwords)
    changed: list[service.AuthResult] = []

    def change() -> None:
        with sessionmaker(auth_engine, expire_on_commit=False)() as session:
            changed.append(password_change.change_password(
                session=session, credentials=credentials, user_id=user_id, current_password=PASSWORD,
                new_password=NEW_PASSWORD, client_ip="192.0.2.1"))

    changer = threading.Thread(target=change)
    changer.start()
    try:
        assert passwords.hashing.wait(10)
        # The new password is being hashed (tens of milliseconds of Argon2 in production): the stolen refresh
        # token is used now, before the change locks anything.
        answer = auth.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    finally:
        passwords.go_on.set()
        changer.join()

    assert_nothing_outlives(auth, auth_engine, user_id, answer)
    # The owner's new session, started by the change at the moment the others ended, is kept.
    assert not refused(sessions_ended(auth_engine, user_id), user_id, changed[0].token)
    assert auth.post("/api/auth/refresh", json={"refresh_token": changed[0].refresh_token}).status_code == 200


def test_a_refresh_racing_sign_out_everywhere_mints_nothing_that_outlives_it(auth, register, auth_engine,
                                                                             monkeypatch):
    first = register(auth, email="lost-phone@example.com").json()
    user_id = first["user"]["id"]
    thief_token = auth.post("/api/auth/login", json={"email": "lost-phone@example.com", "password": PASSWORD})
    real_utcnow = service.utcnow
    closer: list[threading.Thread] = []
    paused, refreshed = threading.Event(), threading.Event()

    def utcnow() -> datetime:
        """The sign-out's first reading of the clock waits until the refresh is done (or a second has passed: the
        refresh may be waiting for the sign-out's locks)."""
        now = real_utcnow()
        if threading.current_thread() in closer and not paused.is_set():
            paused.set()
            refreshed.wait(1)
        return now

    monkeypatch.setattr(service, "utcnow", utcnow)
    ended: list[service.AuthResult] = []

    def sign_out() -> None:
        with sessionmaker(auth_engine, expire_on_commit=False)() as session:
            ended.append(service.logout_everywhere_else(session=session, credentials=auth.app.state.credentials,
                                                        user_id=user_id, refresh_token=first["refresh_token"]))

    closer.append(threading.Thread(target=sign_out))
    closer[0].start()
    try:
        assert paused.wait(10)
        answer = auth.post("/api/auth/refresh", json={"refresh_token": thief_token.json()["refresh_token"]})
        refreshed.set()
    finally:
        closer[0].join()

    assert_nothing_outlives(auth, auth_engine, user_id, answer)
    assert not refused(sessions_ended(auth_engine, user_id), user_id, ended[0].token)
    assert auth.post("/api/auth/refresh", json={"refresh_token": ended[0].refresh_token}).status_code == 200


class PausedVerifying(Passwords):
    """Checking the password waits until the test says so: the account changes meanwhile."""

    def __init__(self) -> None:
        super().__init__(memory_kib=1024, time_cost=1, parallelism=1)
        self.verifying = threading.Event()
        self.go_on = threading.Event()

    def verify(self, password_hash: str | None, password: str) -> bool:
        matches = super().verify(password_hash, password)
        self.verifying.set()
        assert self.go_on.wait(10)
        return matches


@pytest.mark.parametrize("meanwhile", ["account closed", "password changed"])
def test_a_login_while_the_sessions_end_starts_no_session_that_outlives_it(auth, register, auth_engine, meanwhile):
    owner = register(auth, email="raced@example.com").json()
    user_id = owner["user"]["id"]
    admin = auth.post("/api/auth/login", json={"email": "admin@jesh.local", "password": "JeshAdmin2026!"}).json()
    passwords = PausedVerifying()
    credentials = dataclasses.replace(auth.app.state.credentials, passwords=passwords)
    outcome: list[Any] = []

    def log_in() -> None:
        with sessionmaker(auth_engine, expire_on_commit=False)() as session:
            try:
                outcome.append(service.login(session=session, credentials=credentials, email="raced@example.com",
                                             password=PASSWORD, client_ip="192.0.2.7"))
            except (Forbidden, Unauthorized) as refusal:
                outcome.append(refusal)

    thread = threading.Thread(target=log_in)
    thread.start()
    try:
        assert passwords.verifying.wait(10)
        # The password is being checked (tens of milliseconds of Argon2 in production) when the sessions end.
        if meanwhile == "account closed":
            ended = auth.post(f"/api/auth/users/{user_id}/close", headers={"Authorization": f"Bearer {admin['token']}"})
        else:
            ended = auth.post("/api/auth/password", headers={"Authorization": f"Bearer {owner['token']}"},
                              json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        assert ended.status_code == 200, ended.text
    finally:
        passwords.go_on.set()
        thread.join()

    (result,) = outcome
    if isinstance(result, service.AuthResult):  # it started first: the end reached it
        assert auth.post("/api/auth/refresh", json={"refresh_token": result.refresh_token}).status_code == 401
        assert refused(sessions_ended(auth_engine, user_id), user_id, result.token)
    else:
        assert isinstance(result, Forbidden if meanwhile == "account closed" else Unauthorized)
