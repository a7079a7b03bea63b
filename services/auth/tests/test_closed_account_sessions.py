"""A closed account starts no session and takes no change, even from an access token not refused yet.

Closing an account revokes its refresh families and publishes SessionsEnded; its access tokens are refused once
each process has followed that event (milliseconds, or the length of a NATS outage). Until then the owner's
self-service routes that start a session (sign out everywhere else, password change) started one that outlived the
close: a refresh token that kept working on a closed account. The close is made here behind the verifier's back
(no SessionsEnded), as the moment before it is followed."""

from __future__ import annotations

import pytest
from sqlalchemy import text

PASSWORD = "correct horse 1"
CLOSED = {"success": False, "message": "This account is closed; please contact Jesh Storage"}


def closed_unheard(engine, user_id: int, *, revoke: bool = True) -> None:
    """The account closed as close_account does, but with no SessionsEnded followed yet."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET closed_at = now() WHERE id = :id"), {"id": user_id})
        if revoke:
            conn.execute(text("UPDATE refresh_families SET revoked_at = now(), revoked_reason = 'admin' "
                              "WHERE user_id = :id AND revoked_at IS NULL"), {"id": user_id})


def families(engine, user_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(*) FROM refresh_families WHERE user_id = :id"), {"id": user_id}))


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/auth/logout-everywhere", {"refresh_token": "(the session's own)"}),
    ("post", "/api/auth/password", {"current_password": PASSWORD, "new_password": "another one 2027"}),
    ("patch", "/api/auth/profile", {"name": "Still Here", "email": "back@example.com"}),
])
def test_a_stale_access_token_of_a_closed_account_starts_no_session_and_changes_nothing(
    auth, register, bearer, auth_engine, method, path, body
):
    signed_up = register(auth, email="leaving@example.com", name="Leaving").json()
    user_id = signed_up["user"]["id"]
    closed_unheard(auth_engine, user_id)

    if body == {"refresh_token": "(the session's own)"}:
        body = {"refresh_token": signed_up["refresh_token"]}
    r = auth.request(method, path, json=body, headers=bearer(signed_up["token"]))

    assert (r.status_code, r.json()) == (403, CLOSED)
    assert families(auth_engine, user_id) == 1  # the one from registering, revoked
    with auth_engine.connect() as conn:
        row = conn.execute(text("SELECT email, name FROM users WHERE id = :id"), {"id": user_id}).one()
    assert tuple(row) == ("leaving@example.com", "Leaving")
    login = auth.post("/api/auth/login", json={"email": "leaving@example.com", "password": PASSWORD})
    assert (login.status_code, login.json()) == (403, CLOSED)  # the password unchanged


def test_a_refresh_family_that_outlived_the_close_of_its_account_is_refused(auth, register, auth_engine):
    # A family left live on a closed account (one such a stale token started before this was mended).
    signed_up = register(auth, email="outlived@example.com").json()
    closed_unheard(auth_engine, signed_up["user"]["id"], revoke=False)

    r = auth.post("/api/auth/refresh", json={"refresh_token": signed_up["refresh_token"]})

    assert (r.status_code, r.json()["message"]) == (401, "Invalid or expired refresh token")


def test_a_closed_operator_s_stale_access_token_acts_no_more(auth, register, bearer, auth_engine):
    # Another admin closed this operator's account; the operator's token is refused everywhere only once SessionsEnded
    # is followed. Before: meanwhile it still made customers admins (200), opened accounts, closed others...
    operator = register(auth, email="leaving.operator@example.com").json()
    customer = register(auth, email="customer@example.com").json()["user"]
    with auth_engine.begin() as conn:
        conn.execute(text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": operator["user"]["id"]})
    token = auth.post("/api/auth/login", json={"email": "leaving.operator@example.com", "password": PASSWORD})
    headers = bearer(token.json()["token"])
    closed_unheard(auth_engine, operator["user"]["id"])

    promoted = auth.patch(f"/api/auth/users/{customer['id']}", json={"role": "admin"}, headers=headers)
    opened = auth.post("/api/auth/users", json={"email": "new@example.com", "phone": "0712345678", "name": "New"},
                       headers=headers)

    assert (promoted.status_code, promoted.json()) == (403, CLOSED)
    assert (opened.status_code, opened.json()) == (403, CLOSED)
    with auth_engine.connect() as conn:
        assert conn.scalar(text("SELECT role FROM users WHERE id = :id"), {"id": customer["id"]}) == "user"
        assert conn.scalar(text("SELECT count(*) FROM users WHERE email = 'new@example.com'")) == 0
