"""Erasing a closed customer's personal data (Kenya's Data Protection Act, s.40): only when booking, payments and
billing hold nothing live for them; the account keeps its id under placeholders; auth forgets the rest of the
person and publishes CustomerErased."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import wait_for

ADMIN = {"email": "admin@jesh.local", "password": "JeshAdmin2026!"}
PASSWORD = "correct horse 1"
PEERS = ("booking", "payments", "billing", "transport")


@dataclass
class FakePeer:
    """Serves GET /internal/users/{id}/holds in the documented shape, from `holds`; counts the calls."""

    url: str = ""
    holds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[int] = field(default_factory=list)
    down: bool = False


def _peer_app(fake: FakePeer) -> FastAPI:
    app = FastAPI()

    @app.get("/internal/users/{user_id}/holds")
    def holds(user_id: int) -> JSONResponse:
        fake.calls.append(user_id)
        if fake.down:
            return JSONResponse({"success": False, "message": "down"}, status_code=500)
        return JSONResponse({"success": True, "data": {"holds": fake.holds.get(user_id, [])}})

    return app


@pytest.fixture
def peers() -> Iterator[dict[str, FakePeer]]:
    made: dict[str, FakePeer] = {}
    servers = []
    for name in PEERS:
        fake = FakePeer()
        server = LiveServer(_peer_app(fake), free_port())
        fake.url = f"http://127.0.0.1:{server.port}"
        servers.append(server)
        made[name] = fake
    yield made
    for server in servers:
        server.stop()


@pytest.fixture
def service(start_auth: Callable[..., Any], peers: dict[str, FakePeer]) -> Any:
    return start_auth(**{f"{name}_url": peer.url for name, peer in peers.items()})


@pytest.fixture
def admin(service: Any, bearer: Callable[[str], dict[str, str]]) -> dict[str, Any]:
    r = service.post("/api/auth/login", json=ADMIN)
    assert r.status_code == 200, r.text
    return {"id": r.json()["user"]["id"], "headers": bearer(r.json()["token"])}


@pytest.fixture
def customer(service: Any, register: Callable[..., Any], admin: dict[str, Any]) -> dict[str, Any]:
    """A customer who logged in once (a refresh token, a known address), asked for a password link, had their
    contact corrected by an operator, and was then closed."""
    r = register(service, email="wanjiru.kamau@example.com", name="Wanjiru Kamau", phone="0712345678")
    assert r.status_code == 201, r.text
    user_id = r.json()["user"]["id"]
    assert service.post("/api/auth/password-reset", json={"email": "wanjiru.kamau@example.com"}).status_code == 202
    fixed = service.patch(f"/api/auth/users/{user_id}", json={"phone": "0722000111"}, headers=admin["headers"])
    assert fixed.status_code == 200, fixed.text
    return {"id": user_id, "token": r.json()["token"]}


def close(service: Any, admin: dict[str, Any], user_id: int) -> None:
    r = service.post(f"/api/auth/users/{user_id}/close", headers=admin["headers"])
    assert r.status_code == 200, r.text


def erase(service: Any, admin: dict[str, Any], user_id: int) -> Any:
    return service.post(f"/api/auth/users/{user_id}/erase", headers=admin["headers"])


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def personal_traces(engine: Engine, user_id: int) -> dict[str, int]:
    """How many rows of each kind still hold something of the person."""
    return {
        "refresh_families": len(rows(engine, "SELECT 1 FROM refresh_families WHERE user_id = :u", u=user_id)),
        "password_resets": len(rows(engine, "SELECT 1 FROM password_resets WHERE user_id = :u", u=user_id)),
        "known_addresses": len(rows(engine, "SELECT 1 FROM known_login_addresses WHERE user_id = :u", u=user_id)),
        "outbox": len(rows(engine, "SELECT 1 FROM outbox WHERE payload::text ILIKE ANY(ARRAY['%wanjiru%', "
                                   "'%254712345678%', '%254722000111%'])")),
        "audit": len(rows(engine, "SELECT 1 FROM audit_log WHERE details::text ILIKE ANY(ARRAY['%wanjiru%', "
                                  "'%254712345678%', '%254722000111%'])")),
    }


def test_erasing_a_closed_customer_keeps_the_id_and_forgets_the_person(service, admin, customer, auth_engine, peers):
    user_id = customer["id"]
    before = personal_traces(auth_engine, user_id)
    assert all(before.values()), before  # the fixture left a trace of every kind
    close(service, admin, user_id)

    r = erase(service, admin, user_id)

    assert r.status_code == 200, r.text
    account = r.json()["data"]
    assert account["id"] == user_id
    assert account["name"] == "Erased customer"
    assert account["email"] == f"erased-{user_id}@erased.invalid"
    assert account["phone"] is None
    assert account["erased_at"] is not None and account["closed_at"] is not None
    assert account["active_sessions"] == 0 and account["last_login_at"] is None
    assert all(peer.calls == [user_id] for peer in peers.values())
    assert personal_traces(auth_engine, user_id) == dict.fromkeys(before, 0)
    hash_, = rows(auth_engine, "SELECT password_hash FROM users WHERE id = :u", u=user_id)[0]
    assert not hash_.startswith("$argon2")
    events = rows(auth_engine, "SELECT payload FROM outbox WHERE type = 'CustomerErased'")
    assert [e.payload["data"]["user_id"] for e in events] == [user_id]
    actions = [a for a, in rows(auth_engine, "SELECT action FROM audit_log WHERE target = :t ORDER BY id",
                                t=f"user:{user_id}")]
    assert actions[-1] == "account.erased"
    # nobody logs in with the old email, or the old password on the new one
    for email in ("wanjiru.kamau@example.com", f"erased-{user_id}@erased.invalid"):
        assert service.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401
    # peers asking for the person (notifications' contact finder, booking for a walk-in customer) hear of nobody
    assert service.get(f"/internal/users/{user_id}").status_code == 404
    # the email is free again: the person may come back as a new customer
    again = service.post("/api/auth/register", json={"email": "wanjiru.kamau@example.com", "name": "Wanjiru Kamau",
                                                     "phone": "0712345678", "password": PASSWORD})
    assert again.status_code == 201 and again.json()["user"]["id"] != user_id


def test_an_erased_account_is_never_edited_reopened_or_erased_twice(service, admin, customer, auth_engine):
    user_id = customer["id"]
    close(service, admin, user_id)
    first = erase(service, admin, user_id)
    assert first.status_code == 200

    second = erase(service, admin, user_id)
    assert second.status_code == 200
    assert second.json()["data"] == {**first.json()["data"], "active_sessions": 0}
    # announced again, with the first erasure's moment (a service restored from an older backup forgets them again)
    events = rows(auth_engine, "SELECT payload FROM outbox WHERE type = 'CustomerErased' ORDER BY created_at")
    assert [e.payload["data"] for e in events] == [{"user_id": user_id, "erased_at": events[0].payload["data"][
        "erased_at"]}] * 2
    assert [a for a, in rows(auth_engine, "SELECT action FROM audit_log WHERE target = :t ORDER BY id",
                             t=f"user:{user_id}")][-2:] == ["account.erased", "account.erasure_announced"]
    for method, path, body in [("POST", "reopen", None), ("PATCH", "", {"name": "Wanjiru Kamau"})]:
        r = service.request(method, f"/api/auth/users/{user_id}{'/' + path if path else ''}", json=body,
                            headers=admin["headers"])
        assert r.status_code == 409, r.text
        assert r.json() == {"success": False, "message": "This account's personal data was erased"}
    assert rows(auth_engine, "SELECT name FROM users WHERE id = :u", u=user_id)[0][0] == "Erased customer"


def test_only_a_closed_customer_account_of_someone_else_is_erased(service, admin, customer, register, auth_engine,
                                                                   bearer):
    user_id = customer["id"]
    open_one = erase(service, admin, user_id)
    assert open_one.status_code == 409
    assert open_one.json()["message"] == "Close the account before erasing its personal data"

    assert erase(service, admin, admin["id"]).status_code == 400
    assert erase(service, admin, 999_999).status_code == 404
    assert service.post(f"/api/auth/users/{user_id}/erase").status_code == 401
    assert service.post(f"/api/auth/users/{user_id}/erase", headers=bearer(customer["token"])).status_code == 403

    other = register(service, email="otieno@example.com", name="Brian Otieno").json()["user"]["id"]
    made_admin = service.patch(f"/api/auth/users/{other}", json={"role": "admin"}, headers=admin["headers"])
    assert made_admin.status_code == 200
    close(service, admin, other)
    r = erase(service, admin, other)
    assert r.status_code == 409
    assert r.json()["message"] == "An operator's account is not erased: make them a customer first"
    assert rows(auth_engine, "SELECT count(*) FROM users WHERE erased_at IS NOT NULL")[0][0] == 0


def test_anything_live_in_another_service_refuses_the_erasure_with_every_reason(service, admin, customer, peers,
                                                                                 auth_engine):
    user_id = customer["id"]
    close(service, admin, user_id)
    peers["booking"].holds[user_id] = [{"kind": "booking", "id": 12, "detail": "monthly rental 12 (unit A-03) is live"}]
    peers["billing"].holds[user_id] = [{"kind": "invoice", "id": 5, "detail": "invoice INV-000005 is open: KES 4,000"}]

    r = erase(service, admin, user_id)

    assert r.status_code == 409
    assert r.json() == {
        "success": False, "message": "The customer's personal data cannot be erased yet",
        "errors": [{"field": "booking", "message": "monthly rental 12 (unit A-03) is live"},
                   {"field": "invoice", "message": "invoice INV-000005 is open: KES 4,000"}],
    }
    assert rows(auth_engine, "SELECT name, erased_at FROM users WHERE id = :u", u=user_id)[0] == ("Wanjiru Kamau",
                                                                                                 None)
    assert not rows(auth_engine, "SELECT 1 FROM outbox WHERE type = 'CustomerErased'")

    peers["payments"].down = True  # a peer that cannot answer: nothing is erased, the operator retries
    peers["booking"].holds.clear()
    peers["billing"].holds.clear()
    down = erase(service, admin, user_id)
    assert down.status_code == 503
    assert down.json()["message"] == "The payments service is unavailable, please retry"
    assert rows(auth_engine, "SELECT erased_at FROM users WHERE id = :u", u=user_id)[0][0] is None

    peers["payments"].down = False
    assert erase(service, admin, user_id).status_code == 200


def test_a_customer_asks_from_the_portal_and_operators_find_the_request(service, admin, customer, auth_engine,
                                                                         bearer):
    path = "/api/auth/profile/erasure-request"
    own = bearer(customer["token"])
    assert service.get(path).status_code == 401
    assert service.get(path, headers=own).json() == {"success": True, "data": {"requested_at": None}}

    asked = service.post(path, headers=own)
    assert asked.status_code == 200, asked.text
    requested_at = asked.json()["data"]["requested_at"]
    assert requested_at is not None
    again = service.post(path, headers=own)  # asked already: unchanged, acknowledged once
    assert again.json()["data"]["requested_at"] == requested_at
    assert service.get(path, headers=own).json()["data"]["requested_at"] == requested_at
    events = rows(auth_engine, "SELECT payload FROM outbox WHERE type = 'ErasureRequested'")
    assert [e.payload["data"]["user_id"] for e in events] == [customer["id"]]
    assert service.get("/api/auth/profile", headers=own).json().keys() == {"id", "email", "name", "phone", "role"}

    def asking() -> list[tuple[int, str | None]]:
        r = service.get("/api/auth/users", params={"erasure_requested": "true"}, headers=admin["headers"])
        assert r.status_code == 200, r.text
        return [(a["id"], a["erasure_requested_at"]) for a in r.json()["data"]]

    assert asking() == [(customer["id"], requested_at)]
    assert service.post(path, headers=admin["headers"]).status_code == 409  # an operator's account
    withdrawn = service.delete(path, headers=own)
    assert withdrawn.status_code == 200 and withdrawn.json()["data"]["requested_at"] is None
    assert asking() == []

    service.post(path, headers=own)  # asked again, then erased: no longer waiting
    close(service, admin, customer["id"])
    assert asking() != []
    assert erase(service, admin, customer["id"]).status_code == 200
    assert asking() == []
    assert len(rows(auth_engine, "SELECT 1 FROM outbox WHERE type = 'ErasureRequested'")) == 2


def test_the_retention_job_erases_customers_closed_long_ago_once_nothing_is_live(
    start_auth, peers, register, auth_engine, bearer
):
    """ERASE_CLOSED_AFTER_DAYS: a customer closed longer ago is erased by the job (as an operator would), unless
    something is live; one closed recently, an operator's account and an open one are left alone."""
    service = start_auth(**{f"{name}_url": peer.url for name, peer in peers.items()},
                         erase_closed_after_days=30, erase_closed_interval_seconds=0.2)
    token = service.post("/api/auth/login", json=ADMIN).json()["token"]
    admin = {"headers": bearer(token)}
    made = {}
    for who in ("old", "held", "recent", "operator", "open"):
        r = register(service, email=f"{who}@example.com", name=f"Kamau {who}", phone="0712345678")
        made[who] = r.json()["user"]["id"]
    assert service.patch(f"/api/auth/users/{made['operator']}", json={"role": "admin"},
                         headers=admin["headers"]).status_code == 200
    peers["booking"].holds[made["held"]] = [{"kind": "booking", "id": 3, "detail": "monthly rental 3 is live"}]
    for who in ("old", "held", "recent", "operator"):
        close(service, admin, made[who])
    with auth_engine.begin() as conn:  # closed 40 days ago, except "recent" (today)
        conn.execute(text("UPDATE users SET closed_at = now() - interval '40 days' WHERE id = ANY(:ids)"),
                     {"ids": [made["old"], made["held"], made["operator"]]})

    def erased_ids() -> set[int]:
        return {i for i, in rows(auth_engine, "SELECT id FROM users WHERE erased_at IS NOT NULL")}

    wait_for(lambda: erased_ids() == {made["old"]}, timeout=15, what="the old closed customer erased by the job")
    wait_for(lambda: peers["booking"].calls.count(made["held"]) >= 2, timeout=15, what="the held one asked again")
    assert erased_ids() == {made["old"]}  # held: it waits for the next run
    audit_row = rows(auth_engine, "SELECT actor_id, actor_role, details FROM audit_log WHERE action = 'account.erased'")
    assert [(a, r, d["retention_days"]) for a, r, d in audit_row] == [(0, "system", 30)]

    peers["booking"].holds.clear()  # settled: the next run erases it
    wait_for(lambda: erased_ids() == {made["old"], made["held"]}, timeout=15, what="the settled one erased")
    events = rows(auth_engine, "SELECT payload FROM outbox WHERE type = 'CustomerErased'")
    assert sorted(e.payload["data"]["user_id"] for e in events) == sorted([made["old"], made["held"]])  # once each
    assert made["recent"] not in peers["booking"].calls and made["operator"] not in peers["booking"].calls


def test_an_erased_customer_s_personal_events_leave_the_stream(
    event_bus, start_auth, peers, register, bearer, auth_engine
):
    """After the erasure commits, the job deletes the person's personal events from the JetStream stream (their
    UserRegistered and UserUpdated, with name, email and phone); other people's, and CustomerErased, stay."""
    service = start_auth(**{f"{name}_url": peer.url for name, peer in peers.items()},
                         stream_erasure_interval_seconds=0.2)
    admin = {"headers": bearer(service.post("/api/auth/login", json=ADMIN).json()["token"])}
    kept = register(service, email="kept@example.com", name="Achieng Otieno", phone="0712000111").json()["user"]
    gone = register(service, email="gone@example.com", name="Wanjiru Kamau", phone="0722000222").json()["user"]
    fixed = service.patch(f"/api/auth/users/{gone['id']}", json={"phone": "0733000333"}, headers=admin["headers"])
    assert fixed.status_code == 200, fixed.text

    def personal(user_id: int) -> list[str]:
        return [e["type"] for e in event_bus.events() if e["data"].get("user_id") == user_id
                and e["type"] in ("UserRegistered", "UserUpdated")]

    wait_for(lambda: sorted(personal(gone["id"])) == ["UserRegistered", "UserUpdated"] and personal(kept["id"]),
             what="the events in the stream")
    close(service, admin, gone["id"])
    assert erase(service, admin, gone["id"]).status_code == 200

    wait_for(lambda: not personal(gone["id"]), timeout=15, what="the erased customer's events gone from the stream")
    assert personal(kept["id"]) == ["UserRegistered"]
    assert any(e["type"] == "CustomerErased" and e["data"]["user_id"] == gone["id"] for e in event_bus.events())
    assert not any("0733000333"[1:] in str(e) or "gone@example.com" in str(e) for e in event_bus.events())
    wait_for(lambda: not rows(auth_engine, "SELECT 1 FROM stream_erasures"), what="the job's row deleted")
