"""Per-account login throttling: N unproven attempts per window, then 429 with Retry-After."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import sessionmaker

from auth import service
from auth.passwords import Passwords
from auth.service import Credentials, LoginPolicy, TooManyAttempts
from auth.tokens import AccessTokens, KeyRing
from jeshkit.errors import Unauthorized

PASSWORD = "correct horse 1"
WRONG_PASSWORD = "wrong password"


def attempt(client, email, password=WRONG_PASSWORD):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_repeated_failures_lock_the_account_out(start_auth, register):
    client = start_auth(login_max_failures=3, login_lockout_seconds=600)
    register(client, email="target@example.com")
    register(client, email="bystander@example.com")

    failures = [attempt(client, "target@example.com").status_code for _ in range(3)]
    locked = attempt(client, "target@example.com", PASSWORD)  # even the right password waits

    assert failures == [401, 401, 401]
    assert locked.status_code == 429
    assert locked.json() == {"success": False, "message": "Too many failed login attempts, please try again later"}
    assert 590 <= int(locked.headers["Retry-After"]) <= 600
    again = attempt(client, "TARGET@example.com ", PASSWORD)
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) <= int(locked.headers["Retry-After"])
    assert attempt(client, "bystander@example.com", PASSWORD).status_code == 200


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
    client = start_auth(login_max_failures=2, login_lockout_seconds=1)
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
        login_policy=LoginPolicy(max_failures=3, window=timedelta(minutes=15), lockout=timedelta(minutes=15)),
    )
    factory = sessionmaker(auth_engine, expire_on_commit=False)
    outcomes: list[str] = []

    def guess() -> None:
        with factory() as session:
            try:
                service.login(session=session, credentials=credentials, email="held@example.com", password="guess")
            except (Unauthorized, TooManyAttempts) as exc:
                outcomes.append(type(exc).__name__)

    in_flight = [threading.Thread(target=guess) for _ in range(3)]
    for thread in in_flight:
        thread.start()
    for _ in in_flight:
        assert passwords.waiting.acquire(timeout=10)
    # Three guesses are still being verified: a fourth is refused without a password check.
    with pytest.raises(TooManyAttempts), factory() as session:
        service.login(session=session, credentials=credentials, email="held@example.com", password="guess")
    passwords.gate.set()
    for thread in in_flight:
        thread.join()
    assert outcomes == ["Unauthorized"] * 3
