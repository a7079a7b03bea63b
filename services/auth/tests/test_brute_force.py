"""Login throttling per (email, client address) with exponential backoff, and the credentials rate limit per
client address: N unproven attempts, then 429 with Retry-After; a stranger cannot lock the owner out."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from auth import service
from auth.passwords import Passwords
from auth.service import Credentials
from auth.throttle import LoginPolicy, TooManyAttempts
from auth.tokens import AccessTokens, KeyRing
from jeshkit.errors import Unauthorized

PASSWORD = "correct horse 1"
WRONG_PASSWORD = "wrong password"


def attempt(client, email, password=WRONG_PASSWORD, ip=None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


def test_repeated_failures_make_that_address_wait(start_auth, register):
    client = start_auth(login_max_failures=3, login_backoff_seconds=600)
    register(client, email="target@example.com")
    register(client, email="bystander@example.com")

    failures = [attempt(client, "target@example.com").status_code for _ in range(3)]
    locked = attempt(client, "target@example.com", PASSWORD)  # even the right password waits, from this address

    assert failures == [401, 401, 401]
    assert locked.status_code == 429
    assert locked.json() == {"success": False, "message": "Too many failed login attempts, please try again later"}
    assert 590 <= int(locked.headers["Retry-After"]) <= 600
    again = attempt(client, "TARGET@example.com ", PASSWORD)
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) <= int(locked.headers["Retry-After"])
    assert attempt(client, "bystander@example.com", PASSWORD).status_code == 200


def test_a_stranger_cannot_lock_the_owner_out(start_auth, register, throttle_log):
    client = start_auth(login_max_failures=5)
    register(client, email="owner@example.com")
    stranger, owner = "203.0.113.66", "198.51.100.20"

    codes = [attempt(client, "owner@example.com", ip=stranger).status_code for _ in range(8)]

    assert codes == [401] * 5 + [429] * 3
    # The owner, from an address that has not been failing, gets in with the right password...
    assert attempt(client, "owner@example.com", PASSWORD, ip=owner).status_code == 200
    # ...and a few typos of the owner's own do not lock the owner out either.
    assert [attempt(client, "owner@example.com", ip=owner).status_code for _ in range(2)] == [401, 401]
    assert attempt(client, "owner@example.com", PASSWORD, ip=owner).status_code == 200
    # The stranger still waits, right password or not.
    assert attempt(client, "owner@example.com", PASSWORD, ip=stranger).status_code == 429
    assert any(m.startswith("login throttled: owner@example.com from 203.0.113.66") for m in throttle_log)


def test_the_admin_cannot_be_locked_out_by_a_stranger(start_auth):
    client = start_auth(login_max_failures=5, jesh_admin_email="boss@example.com", jesh_admin_password="Boss-pass-1")
    for _ in range(10):
        attempt(client, "boss@example.com", ip="192.0.2.77")
    assert attempt(client, "boss@example.com", "Boss-pass-1", ip="192.0.2.1").status_code == 200


def test_each_failure_after_a_wait_doubles_the_next_wait(start_auth, register, auth_engine):
    client = start_auth(login_max_failures=2, login_backoff_seconds=10, login_lockout_seconds=35)
    register(client, email="doubling@example.com")
    ip = "203.0.113.9"
    waits = []

    assert [attempt(client, "doubling@example.com", ip=ip).status_code for _ in range(2)] == [401, 401]
    for _ in range(4):
        refused = attempt(client, "doubling@example.com", ip=ip)
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        end_the_wait(auth_engine, "doubling@example.com", ip)
        assert attempt(client, "doubling@example.com", ip=ip).status_code == 401  # one more guess, then the wait

    # Doubled each time, up to LOGIN_LOCKOUT_SECONDS. Retry-After counts down from the last guess, so a slow machine
    # may see a second or two less than the full wait by the time the refusal is written.
    expected = [10, 20, 35, 35]
    assert all(full - 3 <= seen <= full for seen, full in zip(waits, expected, strict=True)), waits
    end_the_wait(auth_engine, "doubling@example.com", ip)
    assert attempt(client, "doubling@example.com", PASSWORD, ip=ip).status_code == 200
    assert attempt(client, "doubling@example.com", ip=ip).status_code == 401  # a right password cleared it


def end_the_wait(engine, email, ip):
    """Time passing: the pair's wait ends now (the clock is PostgreSQL's and the service's, not mockable)."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE login_throttles SET locked_until = now() - interval '1 second' "
                 "WHERE email = :email AND client_ip = :ip"),
            {"email": email, "ip": ip},
        )


def test_the_gateway_forwarded_address_is_the_one_counted(start_auth, register):
    client = start_auth(login_max_failures=2)
    register(client, email="relayed@example.com")
    # Traefik appends its peer: a direct client is the last address; behind a trusted proxy (loopback), the one
    # that proxy appended before it.
    for _ in range(2):
        attempt(client, "relayed@example.com", ip="203.0.113.5")
    assert attempt(client, "relayed@example.com", PASSWORD, ip="203.0.113.5").status_code == 429
    assert attempt(client, "relayed@example.com", PASSWORD, ip="10.9.9.9, 203.0.113.5, 127.0.0.1").status_code == 429
    # An untrusted peer's claim is not believed: it is counted under its own address.
    assert attempt(client, "relayed@example.com", PASSWORD, ip="203.0.113.5, 198.51.100.3").status_code == 200


def test_the_credentials_rate_limit_per_address(start_auth, register):
    client = start_auth(jesh_rate_limit_auth_average=4, jesh_rate_limit_auth_burst=3)

    codes = [attempt(client, f"nobody{n}@example.com", ip="203.0.113.1").status_code for n in range(3)]
    refused = attempt(client, "nobody9@example.com", ip="203.0.113.1")
    refused_register = register(client, headers={"X-Forwarded-For": "203.0.113.1"})

    assert codes == [401, 401, 401]
    assert refused.status_code == 429
    assert refused.json() == {"success": False, "message": "Too many requests, please slow down"}
    assert 14 <= int(refused.headers["Retry-After"]) <= 15  # 4 per minute: a token every 15 s
    assert refused_register.status_code == 429
    # Another address has a bucket of its own.
    assert attempt(client, "nobody@example.com", ip="203.0.113.2").status_code == 401


def test_unknown_emails_are_throttled_the_same_way(start_auth):
    client = start_auth(login_max_failures=2)

    codes = [attempt(client, "ghost@example.com").status_code for _ in range(3)]

    assert codes == [401, 401, 429]


def test_a_successful_login_clears_the_count(start_auth, register):
    client = start_auth(login_max_failures=3)
    register(client, email="forgetful@example.com")

    codes = [attempt(client, "forgetful@example.com").status_code for _ in range(2)]
    codes.append(attempt(client, "forgetful@example.com", PASSWORD).status_code)
    codes += [attempt(client, "forgetful@example.com").status_code for _ in range(3)]
    codes.append(attempt(client, "forgetful@example.com", PASSWORD).status_code)

    assert codes == [401, 401, 200, 401, 401, 401, 429]


def test_the_lockout_ends(start_auth, register):
    client = start_auth(login_max_failures=2, login_backoff_seconds=1)
    register(client, email="patient@example.com")
    for _ in range(2):
        attempt(client, "patient@example.com")
    locked = attempt(client, "patient@example.com", PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "1"

    time.sleep(1.1)

    assert attempt(client, "patient@example.com", PASSWORD).status_code == 200


def test_failures_older_than_the_window_do_not_count(start_auth, register):
    client = start_auth(login_max_failures=3, login_failure_window_seconds=1)
    register(client, email="slow@example.com")

    codes = [attempt(client, "slow@example.com").status_code for _ in range(3)]
    time.sleep(1.1)
    codes += [attempt(client, "slow@example.com").status_code for _ in range(3)]
    codes.append(attempt(client, "slow@example.com", PASSWORD).status_code)

    assert codes == [401] * 6 + [429]  # the second window's three failures lock it, not the first's


def test_replicas_share_the_count(start_auth, register):
    first = start_auth(login_max_failures=3)
    second = start_auth(login_max_failures=3)
    register(first, email="spread@example.com")

    codes = [attempt(first, "spread@example.com").status_code, attempt(second, "spread@example.com").status_code,
             attempt(first, "spread@example.com").status_code, attempt(second, "spread@example.com").status_code]

    assert codes == [401, 401, 401, 429]


def test_parallel_guesses_cannot_exceed_the_limit(start_auth, register):
    server = start_auth(serve=True, cheap_hashing=False, login_max_failures=3)
    register(server, email="burst@example.com")
    barrier = threading.Barrier(10)
    codes: list[int] = []

    def guess() -> None:
        with httpx.Client(base_url=str(server.base_url), timeout=30) as client:
            barrier.wait()
            codes.append(attempt(client, "burst@example.com").status_code)

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(codes) == [401] * 3 + [429] * 7


class GatedPasswords(Passwords):
    """Verification waits for a gate, to hold guesses 'in flight' (not infrastructure: a slow hash)."""

    def __init__(self) -> None:
        super().__init__(memory_kib=1024, time_cost=1, parallelism=1)
        self.gate = threading.Event()
        self.waiting = threading.Semaphore(0)

    def verify(self, password_hash, password):
        self.waiting.release()
        self.gate.wait(timeout=10)
        return super().verify(password_hash, password)


def test_guesses_are_counted_before_their_password_is_checked(auth, auth_engine):
    passwords = GatedPasswords()
    credentials = Credentials(
        passwords=passwords,
        access_tokens=AccessTokens(KeyRing(Ed25519PrivateKey.generate()), issuer="i", audience="a", ttl_seconds=60),
        refresh_ttl=timedelta(days=1),
        login_policy=LoginPolicy(max_failures=3, window=timedelta(minutes=15), max_lockout=timedelta(minutes=15)),
    )
    factory = sessionmaker(auth_engine, expire_on_commit=False)
    outcomes: list[str] = []

    def guess() -> None:
        with factory() as session:
            try:
                service.login(session=session, credentials=credentials, email="held@example.com", password="guess",
                              client_ip="192.0.2.1")
            except (Unauthorized, TooManyAttempts) as exc:
                outcomes.append(type(exc).__name__)

    in_flight = [threading.Thread(target=guess) for _ in range(3)]
    for thread in in_flight:
        thread.start()
    for _ in in_flight:
        assert passwords.waiting.acquire(timeout=10)
    # Three guesses are still being verified: a fourth is refused without a password check.
    with pytest.raises(TooManyAttempts), factory() as session:
        service.login(session=session, credentials=credentials, email="held@example.com", password="guess",
                      client_ip="192.0.2.1")
    passwords.gate.set()
    for thread in in_flight:
        thread.join()
    assert outcomes == ["Unauthorized"] * 3
