"""The operators' directory of accounts: find a customer, see how they sign in, make an operator and back, end
every session of an account, lift the account-wide login guard. Admins only; every change audited."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import text

from jeshstack.testing import wait_for

ADMIN = {"email": "admin@jesh.local", "password": "JeshAdmin2026!"}
PASSWORD = "correct horse 1"


def login(client, email, password=PASSWORD, ip=None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


@pytest.fixture
def admin(auth, bearer):
    r = login(auth, **ADMIN)
    assert r.status_code == 200, r.text
    return {"id": r.json()["user"]["id"], "headers": bearer(r.json()["token"])}


@pytest.fixture
def customers(auth, register):
    """Three customers, registered in this order."""
    made = [
        register(auth, email="wanjiru.kamau@example.com", name="Wanjiru Kamau", phone="0712345678"),
        register(auth, email="otieno@example.com", name="Brian Otieno", phone="+254 733 111 222"),
        register(auth, email="kip_100%@example.com", name="Kiprono Kiptoo", phone="0110222333"),
    ]
    assert all(r.status_code == 201 for r in made)
    return [r.json() for r in made]


def names(response):
    assert response.status_code == 200, response.text
    return [a["name"] for a in response.json()["data"]]


def audit(auth_engine):
    with auth_engine.connect() as conn:
        return conn.execute(text("SELECT actor_id, action, target, details FROM audit_log ORDER BY id")).all()


def test_only_an_admin_sees_or_changes_accounts(auth, customers, bearer):
    customer = bearer(customers[0]["token"])
    other = customers[1]["user"]["id"]
    calls = [
        ("GET", "/api/auth/users"), ("GET", f"/api/auth/users/{other}"), ("PATCH", f"/api/auth/users/{other}"),
        ("POST", f"/api/auth/users/{other}/sign-out"), ("DELETE", f"/api/auth/users/{other}/login-guard"),
    ]
    for method, path in calls:
        body = {"role": "admin"} if method == "PATCH" else None
        assert auth.request(method, path, json=body).status_code == 401, path
        refused = auth.request(method, path, json=body, headers=customer)
        assert refused.status_code == 403, path
        assert refused.json() == {"success": False, "message": "Unauthorized"}
    assert auth.get(f"/api/auth/users/{other}", headers=customer).status_code == 403
    assert login(auth, "otieno@example.com").json()["user"]["role"] == "user"


def test_an_admin_finds_customers_by_name_email_or_phone_in_any_form(auth, admin, customers):
    find = lambda **params: names(auth.get("/api/auth/users", params=params, headers=admin["headers"]))  # noqa: E731

    assert find() == ["Kiprono Kiptoo", "Brian Otieno", "Wanjiru Kamau", "Administrator"]  # newest first
    assert find(q="KAMAU") == ["Wanjiru Kamau"]
    assert find(q="otieno@") == ["Brian Otieno"]
    assert find(q="0712345678") == ["Wanjiru Kamau"]
    assert find(q="+254 712 345 678") == ["Wanjiru Kamau"]
    assert find(q="0733-111") == ["Brian Otieno"]
    assert find(q="0110222333") == ["Kiprono Kiptoo"]
    assert find(q="222") == ["Kiprono Kiptoo", "Brian Otieno"]  # a run of digits, anywhere in the number
    assert find(q="100%") == ["Kiprono Kiptoo"]  # % and _ are text, not wildcards
    assert find(q="_") == ["Kiprono Kiptoo"]
    assert find(q="nobody") == []
    assert find(role="admin") == ["Administrator"]
    assert find(role="user", limit=2) == ["Kiprono Kiptoo", "Brian Otieno"]
    assert find(role="user", limit=2, offset=2) == ["Wanjiru Kamau"]

    ids = [c["user"]["id"] for c in customers]
    batch = auth.get("/api/auth/users", params={"ids": f"{ids[0]},{ids[2]},999999"}, headers=admin["headers"])
    assert names(batch) == ["Kiprono Kiptoo", "Wanjiru Kamau"]
    first = batch.json()["data"][1]
    assert first == {"id": ids[0], "email": "wanjiru.kamau@example.com", "name": "Wanjiru Kamau",
                     "phone": "254712345678", "role": "user", "created_at": first["created_at"], "closed_at": None,
                     "erasure_requested_at": None, "erased_at": None}


@pytest.mark.parametrize("params, field", [
    ({"ids": "1,x"}, "ids"), ({"ids": ""}, "ids"), ({"ids": ",".join(["1"] * 201)}, "ids"),
    ({"ids": "99999999999999999999"}, "ids"), ({"role": "owner"}, "role"), ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"), ({"q": ""}, "q"), ({"q": "x" * 101}, "q"), ({"offset": "-1"}, "offset"),
    ({"q": "a\x00b"}, "q"),
])
def test_a_bad_filter_is_a_clear_400(auth, admin, params, field):
    r = auth.get("/api/auth/users", params=params, headers=admin["headers"])

    assert r.status_code == 400, r.text
    assert r.json()["success"] is False
    assert field in r.text


def test_the_detail_tells_how_the_account_signs_in(auth, admin, customers):
    user_id = customers[0]["user"]["id"]
    detail = lambda: auth.get(f"/api/auth/users/{user_id}", headers=admin["headers"])  # noqa: E731

    before = detail().json()["data"]
    assert before["active_sessions"] == 1  # the registration's
    assert before["last_login_at"] is not None  # registering chose the password and signed in: not "Never"
    assert before["login_guarded_until"] is None
    assert login(auth, "wanjiru.kamau@example.com").status_code == 200
    after = detail().json()["data"]

    assert after["active_sessions"] == 2
    assert datetime.fromisoformat(after["last_login_at"]) > datetime.fromisoformat(before["last_login_at"])
    assert after["phone"] == "254712345678"
    missing = auth.get("/api/auth/users/999999", headers=admin["headers"])
    assert missing.status_code == 404
    assert missing.json() == {"success": False, "message": "User not found"}


def test_an_admin_makes_a_customer_an_operator_and_back(auth, admin, customers, auth_engine, bearer, event_bus):
    user_id = customers[1]["user"]["id"]
    refresh_token = customers[1]["refresh_token"]

    promoted = auth.patch(f"/api/auth/users/{user_id}", json={"role": "admin"}, headers=admin["headers"])

    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["data"]["role"] == "admin"
    assert promoted.json()["data"]["active_sessions"] == 1  # a promotion keeps the sessions
    operator = login(auth, "otieno@example.com").json()
    assert operator["user"]["role"] == "admin"
    assert auth.get("/api/auth/users", headers=bearer(operator["token"])).status_code == 200
    updated = wait_for(lambda: [e for e in event_bus.events("UserUpdated") if e["data"]["user_id"] == user_id],
                       what="UserUpdated")
    assert updated[-1]["data"]["role"] == "admin"

    demoted = auth.patch(f"/api/auth/users/{user_id}", json={"role": "user"}, headers=admin["headers"])

    assert demoted.status_code == 200
    assert demoted.json()["data"] | {"active_sessions": 0} == demoted.json()["data"]
    assert auth.post("/api/auth/refresh", json={"refresh_token": refresh_token}).status_code == 401
    assert auth.post("/api/auth/refresh", json={"refresh_token": operator["refresh_token"]}).status_code == 401
    # Its access token still says admin until it expires, but this database no longer does...
    stale = auth.patch(f"/api/auth/users/{customers[0]['user']['id']}", json={"role": "admin"},
                       headers=bearer(operator["token"]))
    assert (stale.status_code, stale.json()["message"]) in {
        (403, "Your account is no longer an admin"), (401, "Session ended; please log in again")}
    # ...and once SessionsEnded has come round, the token is refused everywhere.
    wait_for(lambda: auth.get("/api/auth/users", headers=bearer(operator["token"])).status_code == 401,
             what="the demoted admin's token refused")
    assert [e["data"]["reason"] for e in event_bus.events("SessionsEnded")] == ["role"]
    assert login(auth, "otieno@example.com").json()["user"]["role"] == "user"
    assert [(a, act, t, d["from"], d["to"]) for a, act, t, d in audit(auth_engine)] == [
        (admin["id"], "account.role_changed", f"user:{user_id}", "user", "admin"),
        (admin["id"], "account.role_changed", f"user:{user_id}", "admin", "user"),
    ]
    listed = auth.get("/api/auth/admin/audit", headers=admin["headers"]).json()["data"]
    assert [e["action"] for e in listed] == ["account.role_changed"] * 2
    # The owner is told each time (notifications reads AccountChanged).
    told = wait_for(lambda: (found := [e["data"] for e in event_bus.events("AccountChanged")]) and len(found) == 2
                    and found, what="two AccountChanged")
    assert told == [{"user_id": user_id, "change": "role", "role": "admin"},
                    {"user_id": user_id, "change": "role", "role": "user"}]


def test_nobody_changes_their_own_role_and_two_admins_cannot_demote_each_other(auth, admin, customers, bearer,
                                                                               auth_engine):
    own = auth.patch(f"/api/auth/users/{admin['id']}", json={"role": "user"}, headers=admin["headers"])
    assert own.status_code == 400
    assert own.json()["message"] == "You cannot change your own role"
    other_id = customers[0]["user"]["id"]
    promoted = auth.patch(f"/api/auth/users/{other_id}", json={"role": "admin"}, headers=admin["headers"])
    assert promoted.status_code == 200
    other = bearer(login(auth, "wanjiru.kamau@example.com").json()["token"])
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def demote(name, headers, target):
        barrier.wait()
        results[name] = auth.patch(f"/api/auth/users/{target}", json={"role": "user"}, headers=headers).status_code

    threads = [threading.Thread(target=demote, args=("bootstrap admin", admin["headers"], other_id)),
               threading.Thread(target=demote, args=("other admin", other, admin["id"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results.values()) == [200, 403], results  # the loser is no longer an admin when its turn comes
    with auth_engine.connect() as conn:
        remaining = conn.scalar(text("SELECT count(*) FROM users WHERE role = 'admin'"))
    assert remaining == 1


def test_an_admin_ends_every_session_of_an_account(auth, admin, customers, auth_engine, bearer, event_bus):
    user_id = customers[2]["user"]["id"]
    second = login(auth, "kip_100%@example.com").json()

    ended = auth.post(f"/api/auth/users/{user_id}/sign-out", headers=admin["headers"])

    assert ended.status_code == 200, ended.text
    assert ended.json()["data"]["active_sessions"] == 0
    for token in (customers[2]["refresh_token"], second["refresh_token"]):
        assert auth.post("/api/auth/refresh", json={"refresh_token": token}).status_code == 401
    ended_event = wait_for(lambda: [e["data"] for e in event_bus.events("SessionsEnded")], what="SessionsEnded")
    assert ended_event == [{"user_id": user_id, "before": ended_event[0]["before"], "reason": "signed_out"}]
    # Every process follows SessionsEnded: the access tokens issued before are refused too, though not expired.
    refused = wait_for(lambda: (r := auth.get("/api/auth/profile", headers=bearer(second["token"]))).status_code == 401
                       and r, what="the access token refused")
    assert refused.json() == {"success": False, "message": "Session ended; please log in again"}
    again = login(auth, "kip_100%@example.com")  # the password still works, and the new session too
    assert again.status_code == 200
    assert auth.get("/api/auth/profile", headers=bearer(again.json()["token"])).status_code == 200
    # Another account's sessions are untouched.
    assert auth.post("/api/auth/refresh", json={"refresh_token": customers[0]["refresh_token"]}).status_code == 200
    assert [(act, t, d) for _, act, t, d in audit(auth_engine)] == [
        ("account.signed_out", f"user:{user_id}", {"sessions_ended": 2}),
    ]
    assert auth.post("/api/auth/users/999999/sign-out", headers=admin["headers"]).status_code == 404


def test_an_admin_lifts_the_login_guard_for_the_owner_on_a_new_address(start_auth, register, bearer, auth_engine):
    client = start_auth(login_account_max_failures=3, login_account_guard_seconds=600)
    user_id = register(client, email="guarded@example.com").json()["user"]["id"]
    for ip in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        assert login(client, "guarded@example.com", "wrong password", ip=ip).status_code == 401
    assert login(client, "guarded@example.com", ip="192.0.2.9").status_code == 429
    headers = bearer(login(client, **ADMIN).json()["token"])
    guarded = client.get(f"/api/auth/users/{user_id}", headers=headers).json()["data"]
    assert guarded["login_guarded_until"] is not None
    listed = client.get("/api/auth/users", params={"guarded": "true"}, headers=headers).json()["data"]
    assert [a["id"] for a in listed] == [user_id]  # the operators' view of accounts under attack

    lifted = client.delete(f"/api/auth/users/{user_id}/login-guard", headers=headers)

    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["data"]["login_guarded_until"] is None
    assert client.get("/api/auth/users", params={"guarded": "true"}, headers=headers).json()["data"] == []
    assert login(client, "guarded@example.com", ip="192.0.2.9").status_code == 200
    again = client.delete(f"/api/auth/users/{user_id}/login-guard", headers=headers)
    assert again.status_code == 200  # nothing to lift: harmless, not audited
    rows = audit(auth_engine)
    assert [(act, t, d["addresses_cleared"]) for _, act, t, d in rows] == [
        ("account.login_guard_lifted", f"user:{user_id}", 4),  # the three guesses' addresses and the owner's
    ]
    assert rows[0][3]["guarded_until"] is not None


def test_the_owner_signs_out_on_every_other_device_and_stays_signed_in_here(auth, register, bearer, event_bus):
    here = register(auth, email="lost.phone@example.com").json()
    phone = login(auth, "lost.phone@example.com").json()

    # An access token alone is no session: copied from a device, it must not become one that signs the owner out.
    alone = auth.post("/api/auth/logout-everywhere", json={}, headers=bearer(here["token"]))
    assert alone.status_code == 400
    assert alone.json()["errors"] == [{"field": "refresh_token", "message": "Field required"}]
    spent_or_foreign = [login(auth, "lost.phone@example.com").json()["refresh_token"], "not-a-token"]
    assert auth.post("/api/auth/refresh", json={"refresh_token": spent_or_foreign[0]}).status_code == 200  # spent
    for token in spent_or_foreign:
        refused = auth.post("/api/auth/logout-everywhere", json={"refresh_token": token}, headers=bearer(here["token"]))
        assert (refused.status_code, refused.json()["message"]) == (401, "Invalid or expired refresh token")

    r = auth.post("/api/auth/logout-everywhere", json={"refresh_token": here["refresh_token"]},
                  headers=bearer(here["token"]))

    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["user"]["email"] == "lost.phone@example.com"
    for spent in (here["refresh_token"], phone["refresh_token"]):
        assert auth.post("/api/auth/refresh", json={"refresh_token": spent}).status_code == 401
    wait_for(lambda: auth.get("/api/auth/profile", headers=bearer(phone["token"])).status_code == 401,
             what="the phone's access token refused")
    assert auth.get("/api/auth/profile", headers=bearer(here["token"])).status_code == 401  # the old one here too
    assert auth.get("/api/auth/profile", headers=bearer(fresh["token"])).status_code == 200
    assert auth.post("/api/auth/refresh", json={"refresh_token": fresh["refresh_token"]}).status_code == 200
    assert [e["data"]["reason"] for e in event_bus.events("SessionsEnded")] == ["signed_out"]
    assert auth.post("/api/auth/logout-everywhere", json={"refresh_token": fresh["refresh_token"]}).status_code == 401


def test_an_operator_opens_an_account_at_the_desk_and_the_customer_chooses_the_password_by_the_emailed_link(
    auth, admin, bearer, event_bus, auth_engine, customers
):
    body = {"email": " Walk.In@Example.com ", "phone": "0722 000 111", "name": "Achieng Odhiambo"}

    r = auth.post("/api/auth/users", json=body, headers=admin["headers"])

    assert r.status_code == 201, r.text
    opened = r.json()["data"]
    assert (opened["email"], opened["phone"], opened["role"]) == ("walk.in@example.com", "254722000111", "user")
    invite = wait_for(lambda: [e["data"] for e in event_bus.events("PasswordResetRequested")
                               if e["data"]["user_id"] == opened["id"]], what="the invite")[0]
    assert invite["purpose"] == "invite"
    welcomed = [e["data"]["user_id"] for e in event_bus.events("UserRegistered")]
    assert opened["id"] in welcomed
    assert login(auth, "walk.in@example.com", "").status_code in (400, 401)  # nobody knows a password yet
    # The link (a week) chooses the password and signs the customer in.
    chosen = auth.post("/api/auth/password-reset/confirm", json={"token": invite["token"], "password": "my own 2027"})
    assert chosen.status_code == 200, chosen.text
    assert login(auth, "walk.in@example.com", "my own 2027").status_code == 200
    with auth_engine.connect() as conn:
        rows = conn.execute(text("SELECT action, target FROM audit_log")).all()
    assert rows == [("account.opened", f"user:{opened['id']}")]


def test_opening_an_account_takes_the_rules_of_registration(auth, admin, customers, bearer):
    taken = auth.post("/api/auth/users", json={"email": "OTIENO@example.com", "phone": "0711111111", "name": "X"},
                      headers=admin["headers"])
    assert taken.status_code == 409
    assert taken.json() == {"success": False, "message": "Email already registered"}
    for bad in ({"email": "nope", "phone": "0711111111", "name": "X"},
                {"email": "a@example.com", "phone": "12345", "name": "X"},
                {"email": "a@example.com", "phone": "0711111111", "name": ""},
                {"email": "a@example.com", "phone": "0711111111"}):
        r = auth.post("/api/auth/users", json=bad, headers=admin["headers"])
        assert r.status_code == 400, (bad, r.text)
    customer = bearer(customers[0]["token"])
    refused = auth.post("/api/auth/users", json={"email": "b@example.com", "phone": "0711111111", "name": "B"},
                        headers=customer)
    assert refused.status_code == 403
    names_now = [a["email"] for a in auth.get("/api/auth/users", headers=admin["headers"]).json()["data"]]
    assert "a@example.com" not in names_now and "b@example.com" not in names_now


def test_an_operator_corrects_a_customers_contact_details(auth, admin, customers, auth_engine, event_bus):
    user_id = customers[1]["user"]["id"]
    path = f"/api/auth/users/{user_id}"

    r = auth.patch(path, json={"phone": "0799 888 777", "name": "  Brian O. Otieno "}, headers=admin["headers"])

    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert (data["phone"], data["name"], data["role"]) == ("254799888777", "Brian O. Otieno", "user")
    updated = wait_for(lambda: [e["data"] for e in event_bus.events("UserUpdated") if e["data"]["user_id"] == user_id],
                       what="UserUpdated")
    assert len(updated) == 1 and updated[0]["phone"] == "254799888777"
    with auth_engine.connect() as conn:
        (details,) = conn.execute(text("SELECT details FROM audit_log WHERE action = 'account.contact_changed'")).one()
    assert details == {"phone": {"from": "254733111222", "to": "254799888777"},
                       "name": {"from": "Brian Otieno", "to": "Brian O. Otieno"}}
    assert auth.post("/api/auth/refresh", json={"refresh_token": customers[1]["refresh_token"]}).status_code == 200
    taken = auth.patch(path, json={"email": "WANJIRU.KAMAU@example.com"}, headers=admin["headers"])
    assert (taken.status_code, taken.json()["message"]) == (409, "Email already registered")
    for bad in ({}, {"phone": "12"}, {"email": None}, {"role": "owner"}):
        assert auth.patch(path, json=bad, headers=admin["headers"]).status_code == 400, bad
    # An operator may correct their own details, never their own role.
    own = f"/api/auth/users/{admin['id']}"
    assert auth.patch(own, json={"phone": "0700111222"}, headers=admin["headers"]).status_code == 200
    assert auth.patch(own, json={"role": "admin", "name": "Boss"}, headers=admin["headers"]).status_code == 400


def test_an_operator_closes_an_account_and_reopens_it(auth, admin, customers, bearer, auth_engine, event_bus):
    user_id = customers[0]["user"]["id"]
    email = "wanjiru.kamau@example.com"
    link_asked = auth.post("/api/auth/password-reset", json={"email": email})
    assert link_asked.status_code == 202

    closed = auth.post(f"/api/auth/users/{user_id}/close", headers=admin["headers"])

    assert closed.status_code == 200, closed.text
    assert closed.json()["data"]["closed_at"].endswith("+00:00")  # as every service writes a moment (it said Z)
    assert closed.json()["data"]["active_sessions"] == 0
    refused = login(auth, email)
    assert refused.status_code == 403
    assert refused.json()["message"] == "This account is closed; please contact Jesh Storage"
    assert login(auth, email, "wrong password").status_code == 401  # a wrong password learns nothing
    assert auth.post("/api/auth/refresh", json={"refresh_token": customers[0]["refresh_token"]}).status_code == 401
    wait_for(lambda: auth.get("/api/auth/profile", headers=bearer(customers[0]["token"])).status_code == 401,
             what="the closed account's access token refused")
    link = wait_for(lambda: [e["data"]["token"] for e in event_bus.events("PasswordResetRequested")], what="link")[0]
    spent = auth.post("/api/auth/password-reset/confirm", json={"token": link, "password": "a new one 2027"})
    assert spent.status_code == 400  # the links it had are spent
    before = len(event_bus.events("PasswordResetRequested"))
    assert auth.post("/api/auth/password-reset", json={"email": email}).status_code == 202
    assert len(event_bus.events("PasswordResetRequested")) == before  # and it gets no new one
    own = auth.post(f"/api/auth/users/{admin['id']}/close", headers=admin["headers"])
    assert (own.status_code, own.json()["message"]) == (400, "You cannot close your own account")

    reopened = auth.post(f"/api/auth/users/{user_id}/reopen", headers=admin["headers"])

    assert reopened.status_code == 200
    assert reopened.json()["data"]["closed_at"] is None
    assert login(auth, email).status_code == 200
    with auth_engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log ORDER BY id")).scalars().all()
    assert actions == ["account.closed", "account.reopened"]
    told = wait_for(lambda: (found := [e["data"] for e in event_bus.events("AccountChanged")]) and len(found) == 2
                    and found, what="two AccountChanged")
    assert told == [{"user_id": user_id, "change": "closed", "role": "user"},
                    {"user_id": user_id, "change": "reopened", "role": "user"}]
