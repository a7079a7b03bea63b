"""The account-wide guard: guessing one account's password from many addresses, each below its own limit, guards
the email; meanwhile only addresses the account logged in from may try, so a stranger cannot lock the owner out."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from auth.service import purge_expired
from jeshstack.testing import wait_for

PASSWORD = "correct horse 1"
WRONG_PASSWORD = "wrong password"
GUARD_MESSAGE = {"success": False, "message": "Too many failed login attempts, please try again later"}


def attempt(client, email, password=WRONG_PASSWORD, ip=None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


def botnet(n: int, start: int = 1) -> list[str]:
    return [f"203.0.113.{i}" for i in range(start, start + n)]


def test_guessing_from_many_addresses_guards_the_account_but_not_from_its_own_address(start_auth, register,
                                                                                      throttle_log):
    client = start_auth(login_max_failures=5, login_account_max_failures=6, login_account_guard_seconds=600)
    register(client, email="target@example.com")
    register(client, email="bystander@example.com")
    home = "198.51.100.7"
    assert attempt(client, "target@example.com", PASSWORD, ip=home).status_code == 200

    guesses = [attempt(client, "target@example.com", ip=ip).status_code for ip in botnet(6)]
    refused = attempt(client, "target@example.com", PASSWORD, ip="203.0.113.200")  # right password, new address

    assert guesses == [401] * 6  # each address is far below its own limit of 5
    assert refused.status_code == 429
    assert refused.json() == GUARD_MESSAGE
    assert 590 <= int(refused.headers["Retry-After"]) <= 600
    assert any(m.startswith("login guarded: target@example.com reached 6") for m in throttle_log)
    # The owner, from the address the account logged in from, gets in (and may mistype) during the guard...
    assert attempt(client, "target@example.com", ip=home).status_code == 401
    assert attempt(client, "target@example.com", PASSWORD, ip=home).status_code == 200
    # ...and another account is not concerned.
    assert attempt(client, "bystander@example.com", PASSWORD, ip="203.0.113.201").status_code == 200


def test_an_unknown_email_is_guarded_the_same_way(start_auth):
    client = start_auth(login_account_max_failures=3)

    codes = [attempt(client, "ghost@example.com", ip=ip).status_code for ip in botnet(4)]

    assert codes == [401, 401, 401, 429]  # a 429 does not tell a known email from an unknown one


def test_the_guard_ends(start_auth, register):
    client = start_auth(login_account_max_failures=2, login_account_guard_seconds=1)
    register(client, email="patient@example.com")
    for ip in botnet(2):
        attempt(client, "patient@example.com", ip=ip)
    refused = attempt(client, "patient@example.com", PASSWORD, ip="192.0.2.50")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"

    time.sleep(1.1)

    assert attempt(client, "patient@example.com", PASSWORD, ip="192.0.2.50").status_code == 200


def test_the_owners_right_passwords_do_not_count(start_auth, register):
    client = start_auth(login_account_max_failures=3)
    register(client, email="traveller@example.com")

    # A right password takes its own attempt back out of the count, from however many new addresses.
    codes = [attempt(client, "traveller@example.com", PASSWORD, ip=ip).status_code for ip in botnet(6, start=20)]
    codes += [attempt(client, "traveller@example.com", ip=ip).status_code for ip in botnet(2, start=40)]
    codes.append(attempt(client, "traveller@example.com", PASSWORD, ip="203.0.113.99").status_code)

    assert codes == [200] * 6 + [401, 401, 200]


def test_failures_older_than_the_account_window_do_not_count(start_auth, register):
    client = start_auth(login_account_max_failures=3, login_account_window_seconds=1)
    register(client, email="slow@example.com")

    codes = [attempt(client, "slow@example.com", ip=ip).status_code for ip in botnet(2)]
    time.sleep(1.1)
    codes += [attempt(client, "slow@example.com", ip=ip).status_code for ip in botnet(2, start=10)]
    codes.append(attempt(client, "slow@example.com", PASSWORD, ip="192.0.2.60").status_code)

    assert codes == [401] * 4 + [200]  # two and two in different windows: never three in one


def test_an_address_not_used_for_long_is_no_longer_known(start_auth, register, auth_engine):
    client = start_auth(login_account_max_failures=2, login_known_address_days=30)
    register(client, email="returning@example.com")
    old_home = "198.51.100.8"
    assert attempt(client, "returning@example.com", PASSWORD, ip=old_home).status_code == 200
    with auth_engine.begin() as conn:  # time passing: the last login from there was 31 days ago
        conn.execute(text("UPDATE known_login_addresses SET last_success_at = now() - interval '31 days'"))
    for ip in botnet(2):
        attempt(client, "returning@example.com", ip=ip)

    assert attempt(client, "returning@example.com", PASSWORD, ip=old_home).status_code == 429
    purge_expired(sessionmaker(auth_engine), known_address_for=timedelta(days=30))

    def known() -> int:
        with auth_engine.connect() as conn:
            return int(conn.scalar(text("SELECT count(*) FROM known_login_addresses")) or 0)

    # Gone: by this purge, or by the service's own purge job when it held those rows at that moment (SKIP LOCKED).
    wait_for(lambda: known() == 0, timeout=10, what="the old addresses purged")


def test_replicas_share_the_guard(start_auth, register):
    first = start_auth(login_account_max_failures=4)
    second = start_auth(login_account_max_failures=4)
    register(first, email="spread@example.com")

    codes = [attempt(replica, "spread@example.com", ip=ip).status_code
             for replica, ip in zip([first, second] * 2, botnet(4), strict=True)]

    assert codes == [401] * 4
    assert attempt(second, "spread@example.com", PASSWORD, ip="192.0.2.70").status_code == 429
    assert attempt(first, "spread@example.com", PASSWORD, ip="192.0.2.70").status_code == 429


def test_parallel_guesses_from_many_addresses_cannot_exceed_the_limit(start_auth, register):
    server = start_auth(serve=True, cheap_hashing=False, login_account_max_failures=3)
    register(server, email="burst@example.com")
    barrier = threading.Barrier(10)
    codes: list[int] = []

    def guess(ip: str) -> None:
        with httpx.Client(base_url=str(server.base_url), timeout=30) as client:
            barrier.wait()
            codes.append(attempt(client, "burst@example.com", ip=ip).status_code)

    threads = [threading.Thread(target=guess, args=(ip,)) for ip in botnet(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(codes) == [401] * 3 + [429] * 7
