"""The first admin from JESH_ADMIN_EMAIL / JESH_ADMIN_PASSWORD: created once, never overwritten."""

from __future__ import annotations

import threading

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from auth.passwords import Passwords
from auth.service import bootstrap_admin
from auth.settings import Settings
from jeshstack.testing import wait_for


def login(client, email, password):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def admins(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT email, role, name, phone FROM users WHERE role = 'admin'")).all()


def test_dev_admin_is_created_at_start_up(auth, bearer, auth_engine):
    r = login(auth, "admin@jesh.local", "JeshAdmin2026!")

    assert r.status_code == 200
    assert r.json()["user"]["role"] == "admin"
    assert auth.get("/api/auth/profile", headers=bearer(r.json()["token"])).json()["role"] == "admin"
    assert admins(auth_engine) == [("admin@jesh.local", "admin", "Administrator", None)]


def test_admin_from_settings_is_normalised_and_published(start_auth, event_bus):
    client = start_auth(jesh_admin_email="  Boss@Jesh.Example ", jesh_admin_password="boss password 1")

    assert login(client, "boss@jesh.example", "boss password 1").status_code == 200
    events = wait_for(lambda: event_bus.events("UserRegistered"), what="UserRegistered")
    assert [(e["data"]["email"], e["data"]["role"]) for e in events] == [("boss@jesh.example", "admin")]


def test_admin_is_never_overwritten_by_a_restart(start_auth, auth_engine):
    start_auth()
    restarted = start_auth(jesh_admin_password="a different one", jesh_admin_name="Someone Else")

    assert login(restarted, "admin@jesh.local", "JeshAdmin2026!").status_code == 200
    assert login(restarted, "admin@jesh.local", "a different one").status_code == 401
    assert admins(auth_engine) == [("admin@jesh.local", "admin", "Administrator", None)]


def test_an_admin_who_changed_the_start_up_admins_email_is_not_joined_by_a_second_one(start_auth, auth_engine):
    """The operator signs in as the start-up admin and gives it their own address; a restart made another admin
    with JESH_ADMIN_EMAIL and JESH_ADMIN_PASSWORD (an account nobody uses, with a password from the environment)."""
    start_auth()
    with auth_engine.begin() as conn:
        conn.execute(text("UPDATE users SET email = 'owner@jesh.example' WHERE email = 'admin@jesh.local'"))
    restarted = start_auth()
    assert login(restarted, "admin@jesh.local", "JeshAdmin2026!").status_code == 401
    assert [a.email for a in admins(auth_engine)] == ["owner@jesh.example"]


def test_an_existing_user_with_the_admin_email_is_left_alone(start_auth, register, auth_engine):
    first = start_auth()
    register(first, email="taken@example.com")

    second = start_auth(jesh_admin_email="taken@example.com", jesh_admin_password="admin password 1")

    assert login(second, "taken@example.com", "correct horse 1").json()["user"]["role"] == "user"
    assert login(second, "taken@example.com", "admin password 1").status_code == 401


def test_replicas_bootstrapping_at_once_create_one_admin(auth, auth_engine):
    with auth_engine.begin() as conn:  # no open admin left: the next start-up makes one
        conn.execute(text("UPDATE users SET closed_at = now() WHERE role = 'admin'"))
    factory = sessionmaker(auth_engine, expire_on_commit=False)
    passwords = Passwords(memory_kib=1024, time_cost=1, parallelism=1)
    barrier = threading.Barrier(4)
    created: list[bool] = []

    def boot() -> None:
        barrier.wait()
        created.append(bootstrap_admin(session_factory=factory, passwords=passwords, email="race@jesh.example",
                                       password="race password 1", name="Racer"))

    threads = [threading.Thread(target=boot) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(created) == [False, False, False, True]
    with auth_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM users WHERE email = 'race@jesh.example'")) == 1
        staged = text("SELECT count(*) FROM outbox WHERE payload->'data'->>'email' = 'race@jesh.example'")
        assert conn.scalar(staged) == 1


@pytest.mark.parametrize(
    ("admin", "refused"),
    [
        ({}, "JESH_ADMIN_EMAIL"),
        ({"jesh_admin_email": "ops@jesh.example"}, "JESH_ADMIN_PASSWORD"),
        ({"jesh_admin_password": "a long production password"}, "JESH_ADMIN_EMAIL"),
        ({"jesh_admin_email": "ops@jesh.example", "jesh_admin_password": "changeme"}, "JESH_ADMIN_PASSWORD"),
    ],
)
def test_production_refuses_development_admin_credentials(admin, refused):
    with pytest.raises(ValidationError, match=refused):
        Settings(environment="production", auth_signing_key="configured elsewhere", **admin)


def test_production_accepts_real_admin_credentials():
    settings = Settings(environment="production", auth_signing_key="configured elsewhere",
                        jesh_admin_email="ops@jesh.example", jesh_admin_password="a long production password")

    assert settings.jesh_admin_email == "ops@jesh.example"


def test_admin_password_must_be_a_valid_password():
    with pytest.raises(ValidationError, match="at least 8"):
        Settings(environment="development", jesh_admin_password="short")
