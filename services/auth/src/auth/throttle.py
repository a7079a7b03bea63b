"""Slowing down password guessing without handing strangers a lock-out button.

Three guards, all in PostgreSQL so that every replica shares them:

- Login attempts are counted per (email, client address), known email or not (a 429 reveals nothing), *before*
  the password is checked, under a row lock, so parallel guesses cannot slip past the limit. A right password
  clears that pair's count. After `max_failures` unproven attempts the pair must wait, and each further
  unproven attempt doubles the wait (`backoff_base`, 2x, 4x... up to `max_lockout`); the count is forgotten
  once that pair has been quiet for `window` after its last wait. Another address is not concerned: the
  owner logging in from an address that has not been failing gets through while a stranger guesses.
- Unproven attempts are also counted per email over every address together (`account_max_failures` within
  `account_window`), under a row lock too: guessing spread over many addresses (a botnet, each address below its
  own limit). Once the limit is reached the email is guarded for `account_guard`: an address the account has
  logged in from with its password (within `known_address_for`) still tries as usual, any other address is refused
  with 429 before its password is checked, right or wrong, for a known email or not. So the owner at home keeps
  getting in during an attack; only the owner on a new address waits for the guard to end. A right password takes
  its own attempt back out of the count.
- Every /login and /register request spends a token of its client address's bucket (`burst` at once, then
  `per_minute`), before any password is hashed: a flood of guesses over many accounts, or of registrations,
  is refused with 429 and the exact Retry-After.

The client address is the one the gateway saw (see `auth.client_ip`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from auth.models import AccountLoginGuard, KnownLoginAddress, LoginThrottle, User
from jeshkit.errors import AppError

log = logging.getLogger("auth.throttle")


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    window: timedelta
    max_lockout: timedelta
    backoff_base: timedelta = timedelta(seconds=60)
    per_minute: float = 120.0
    burst: int = 60
    account_max_failures: int = 50
    account_window: timedelta = timedelta(hours=1)
    account_guard: timedelta = timedelta(hours=1)
    known_address_for: timedelta = timedelta(days=90)

    def wait_after(self, attempts: int) -> timedelta:
        """The wait imposed once `attempts` unproven attempts were made (attempts >= max_failures)."""
        doublings = min(attempts - self.max_failures, 30)
        return min(self.backoff_base * (1 << max(doublings, 0)), self.max_lockout)


def retry_after_seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


class TooManyAttempts(AppError):
    def __init__(self, retry_after: timedelta) -> None:
        super().__init__(
            429,
            "Too many failed login attempts, please try again later",
            headers={"Retry-After": str(retry_after_seconds(retry_after))},
        )


class TooManyRequests(AppError):
    def __init__(self, retry_after: timedelta) -> None:
        super().__init__(
            429, "Too many requests, please slow down", headers={"Retry-After": str(retry_after_seconds(retry_after))}
        )


def spend_credential_token(session: Session, *, client_ip: str, policy: LoginPolicy, now: datetime) -> None:
    """Spend one token of this address's bucket and commit; TooManyRequests (with Retry-After) when empty."""
    rate = policy.per_minute / 60.0
    row = session.execute(
        text(
            """
            INSERT INTO credential_buckets AS b (client_ip, tokens, updated_at)
            VALUES (:ip, CAST(:burst AS double precision), :now)
            ON CONFLICT (client_ip) DO UPDATE SET
                tokens = LEAST(CAST(:burst AS double precision),
                               b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (:now - b.updated_at))) * :rate),
                updated_at = GREATEST(b.updated_at, :now)
            RETURNING tokens
            """
        ),
        {"ip": client_ip, "burst": policy.burst, "now": now, "rate": rate},
    ).one()
    available = float(row.tokens)
    if available < 1:
        session.commit()
        wait = (1 - available) / rate if rate > 0 else 3600.0
        raise TooManyRequests(timedelta(seconds=wait))
    session.execute(
        text("UPDATE credential_buckets SET tokens = tokens - 1 WHERE client_ip = :ip"), {"ip": client_ip}
    )
    session.commit()


def count_login_attempt(session: Session, *, email: str, client_ip: str, policy: LoginPolicy, now: datetime) -> None:
    """Count one attempt for (email, address) and commit it; TooManyAttempts while that pair must wait."""
    session.execute(
        insert(LoginThrottle)
        .values(email=email, client_ip=client_ip, attempts=0, last_attempt_at=now)
        .on_conflict_do_nothing()
    )
    throttle = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.email == email, LoginThrottle.client_ip == client_ip)
        .with_for_update()
    ).one()
    if throttle.locked_until is not None and throttle.locked_until > now:
        session.rollback()
        raise TooManyAttempts(throttle.locked_until - now)
    quiet_since = max(throttle.last_attempt_at, throttle.locked_until or throttle.last_attempt_at)
    if quiet_since <= now - policy.window:
        throttle.attempts, throttle.locked_until = 0, None
    if throttle.attempts >= policy.max_failures and throttle.locked_until is None:
        # The first attempt past the limit: refused without a password check, and the pair waits.
        wait = policy.wait_after(throttle.attempts)
        throttle.locked_until, throttle.last_attempt_at = now + wait, now
        session.commit()
        log.warning(
            "login throttled: %s from %s waits %d s after %d unproven attempts",
            email, client_ip, retry_after_seconds(wait), throttle.attempts,
        )
        raise TooManyAttempts(wait)
    throttle.attempts += 1
    throttle.last_attempt_at = now
    if throttle.attempts > policy.max_failures:
        # A wait is over and one more attempt goes through; should it fail too, the next wait is twice as long
        # (set now, so that parallel attempts cannot slip in; a right password clears it).
        wait = policy.wait_after(throttle.attempts)
        throttle.locked_until = now + wait
        log.warning(
            "login throttled: %s from %s, attempt %d allowed after its wait; the next waits %d s",
            email, client_ip, throttle.attempts, retry_after_seconds(wait),
        )
    session.commit()


def count_account_attempt(
    session: Session, *, email: str, client_ip: str, policy: LoginPolicy, now: datetime
) -> None:
    """Count one attempt for the email over every address and commit it; TooManyAttempts while the email is
    guarded and this address is not one the account has logged in from."""
    session.execute(
        insert(AccountLoginGuard)
        .values(email=email, failures=0, window_started_at=now)
        .on_conflict_do_nothing()
    )
    guard = session.scalars(
        select(AccountLoginGuard).where(AccountLoginGuard.email == email).with_for_update()
    ).one()
    if guard.window_started_at <= now - policy.account_window:
        guard.failures, guard.window_started_at = 0, now
    if guard.guarded_until is not None and guard.guarded_until <= now:
        guard.guarded_until = None
    if guard.guarded_until is None and guard.failures >= policy.account_max_failures:
        # The first attempt past the limit: the email is guarded from now on, and counting starts again.
        guard.guarded_until = now + policy.account_guard
        guard.failures, guard.window_started_at = 0, now
        log.warning(
            "login guarded: %s reached %d unproven attempts over all addresses; for %d s only addresses it logged "
            "in from may try",
            email, policy.account_max_failures, retry_after_seconds(policy.account_guard),
        )
    if guard.guarded_until is not None and not _is_known_address(
        session, email=email, client_ip=client_ip, policy=policy, now=now
    ):
        wait = guard.guarded_until - now
        session.commit()
        raise TooManyAttempts(wait)
    guard.failures += 1
    session.commit()


def _is_known_address(
    session: Session, *, email: str, client_ip: str, policy: LoginPolicy, now: datetime
) -> bool:
    """Has the account of this email logged in from this address with its password lately?"""
    return bool(session.scalar(
        select(KnownLoginAddress.user_id)
        .join(User, User.id == KnownLoginAddress.user_id)
        .where(
            User.email == email,
            KnownLoginAddress.client_ip == client_ip,
            KnownLoginAddress.last_success_at > now - policy.known_address_for,
        )
    ))


def clear_login_attempts(session: Session, *, user_id: int, email: str, client_ip: str, now: datetime) -> None:
    """A right password from this address: its count for this email starts again, its attempt leaves the
    account-wide count, and the address is one the account logged in from (never commits)."""
    session.execute(
        delete(LoginThrottle).where(LoginThrottle.email == email, LoginThrottle.client_ip == client_ip)
    )
    session.execute(
        update(AccountLoginGuard)
        .where(AccountLoginGuard.email == email, AccountLoginGuard.failures > 0)
        .values(failures=AccountLoginGuard.failures - 1)
    )
    remember_login_address(session, user_id=user_id, client_ip=client_ip, now=now)


def remember_login_address(session: Session, *, user_id: int, client_ip: str, now: datetime) -> None:
    """The account signed in with its password from this address now (a login, or the registration that chose the
    password): its last login, and an address its login guard lets through (never commits)."""
    known = insert(KnownLoginAddress).values(user_id=user_id, client_ip=client_ip, last_success_at=now)
    session.execute(known.on_conflict_do_update(
        index_elements=[KnownLoginAddress.user_id, KnownLoginAddress.client_ip],
        set_={"last_success_at": known.excluded.last_success_at},
    ))
