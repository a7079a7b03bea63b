"""Changing a password: by its owner signed in (the current password proves it), or through a link emailed to the
account's address (forgot password). Either way every session of the account ends, the caller gets a new one, the
links not used yet are spent, and PasswordChanged tells the owner (notifications), in case it was not them.
Every service refuses the access tokens issued before (SessionsEnded, jeshkit.sessions), though not yet expired.

Reset links: 256 random bits, only the SHA-256 kept, single use, valid for `ttl`. Asking again does not spend the
earlier links (an email may arrive late). At most `per_hour` links per account an hour: further asks are answered
the same way and send nothing, so nobody can flood an inbox; the answer never tells whether an account has that
email. The token travels to notifications in PasswordResetRequested: a secret for `ttl` only, used once.

Argon2 runs with no transaction open (it takes tens of milliseconds): the hash is read, checked and the new one
made first, then written only if it is still the one that was checked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from auth.models import PasswordReset, User
from auth.service import AuthResult, Credentials, end_every_session, refuse_if_closed, start_session, utcnow
from auth.throttle import clear_login_attempts, count_login_attempt
from auth.tokens import hash_refresh_token, new_refresh_token
from jeshkit.errors import BadRequest, Conflict, Unauthorized
from jeshkit.events import PasswordChanged, PasswordResetRequested, stage

log = logging.getLogger("auth.password_change")

WRONG_CURRENT_PASSWORD = "Current password is incorrect"
INVALID_RESET_LINK = "This password reset link is invalid or has expired"
CHANGED_MEANWHILE = "The password was changed meanwhile; please try again"


@dataclass(frozen=True)
class ResetPolicy:
    ttl: timedelta = timedelta(minutes=30)
    per_hour: int = 3
    invite_ttl: timedelta = timedelta(days=7)  # the first link of an account an operator opened


def change_password(
    *, session: Session, credentials: Credentials, user_id: int, current_password: str, new_password: str,
    client_ip: str,
) -> AuthResult:
    """The owner, signed in, proves the current password (counted like a login attempt) and sets a new one."""
    now = utcnow()
    user = session.get(User, user_id)
    if user is None:
        session.rollback()
        raise Unauthorized("Account no longer exists")
    email, old_hash = user.email, user.password_hash
    count_login_attempt(session, email=email, client_ip=client_ip, policy=credentials.login_policy, now=now)
    if not credentials.passwords.verify(old_hash, current_password):
        session.rollback()
        raise BadRequest(WRONG_CURRENT_PASSWORD, [{"field": "current_password", "message": WRONG_CURRENT_PASSWORD}])
    new_hash = credentials.passwords.hash(new_password)
    user = _locked_user_with_hash(session, user_id=user_id, password_hash=old_hash)
    clear_login_attempts(session, user_id=user.id, email=email, client_ip=client_ip, now=now)
    return _set_password(session, credentials=credentials, user=user, password_hash=new_hash, how="changed", now=now)


def request_reset(*, session: Session, policy: ResetPolicy, email: str) -> None:
    """Email a reset link to the account with this (normalised) email, if there is one and it has not had
    `per_hour` links this hour; nothing happens otherwise, and the caller cannot tell."""
    now = utcnow()
    user = session.scalars(select(User).where(User.email == email).with_for_update()).one_or_none()
    if user is None or user.closed_at is not None:  # a closed account gets no link either
        session.rollback()
        return
    recent = session.scalar(
        select(func.count()).select_from(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.created_at > now - timedelta(hours=1))
    )
    if recent is not None and recent >= policy.per_hour:
        session.rollback()
        log.warning("password reset for user %s not sent: %d links in the last hour already", user.id, recent)
        return
    send_link(session, user_id=user.id, now=now, ttl=policy.ttl, purpose="reset")
    session.commit()
    log.info("password reset link requested for user %s", user.id)


def send_link(session: Session, *, user_id: int, now: datetime, ttl: timedelta,
              purpose: Literal["reset", "invite"]) -> None:
    """A new link to choose the account's password, emailed by notifications (never commits)."""
    token = new_refresh_token()
    session.add(PasswordReset(token_hash=hash_refresh_token(token), user_id=user_id, created_at=now,
                              expires_at=now + ttl))
    stage(session, PasswordResetRequested(user_id=user_id, token=token, expires_at=now + ttl, purpose=purpose))


def reset_password(*, session: Session, credentials: Credentials, token: str, new_password: str,
                   client_ip: str) -> AuthResult:
    """Spend a reset link: the account gets the new password and the caller a new session."""
    now = utcnow()
    token_hash = hash_refresh_token(token)
    found = _usable_reset(session, token_hash=token_hash, now=now)
    if found is None:
        session.rollback()
        raise BadRequest(INVALID_RESET_LINK)
    user_id = found.user_id
    session.rollback()
    new_hash = credentials.passwords.hash(new_password)
    # The account is locked before its link, in the order of everything else that spends links (another link's
    # reset, a password change, a close: the account, then its links): the other way round, two links of one account
    # confirmed at once waited on each other until PostgreSQL broke the deadlock (a 503 after a second).
    user = session.scalars(
        select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    reset = _usable_reset(session, token_hash=token_hash, now=utcnow(), lock=True)
    if reset is None:  # spent or expired while the hash was made
        session.rollback()
        raise BadRequest(INVALID_RESET_LINK)
    clear_login_attempts(session, user_id=user.id, email=user.email, client_ip=client_ip, now=now)
    return _set_password(session, credentials=credentials, user=user, password_hash=new_hash, how="reset", now=now)


def spend_links(session: Session, *, user_id: int, now: datetime) -> None:
    """Every link of the account not used yet stops working (never commits)."""
    session.execute(
        update(PasswordReset).where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )


def _usable_reset(session: Session, *, token_hash: str, now: datetime, lock: bool = False) -> PasswordReset | None:
    query = select(PasswordReset).where(
        PasswordReset.token_hash == token_hash, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now
    )
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def _locked_user_with_hash(session: Session, *, user_id: int, password_hash: str) -> User:
    """The account, locked, if its password is still the one that was checked; 409 when it changed meanwhile."""
    # populate_existing: the row as it is now, not the copy loaded before the hash was checked (kept after commit).
    user = session.scalars(
        select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if user is None:
        session.rollback()
        raise Unauthorized("Account no longer exists")
    if user.password_hash != password_hash:
        session.rollback()
        raise Conflict(CHANGED_MEANWHILE)
    return user


def _set_password(
    session: Session, *, credentials: Credentials, user: User, password_hash: str, how: Literal["changed", "reset"],
    now: datetime,
) -> AuthResult:
    """Write the new hash, end every session and spend every reset link of the account, start a new session,
    stage PasswordChanged, commit. A closed account: 403, nothing written."""
    refuse_if_closed(session, user)
    user.password_hash = password_hash
    user.updated_at = now
    ended_at, _ = end_every_session(session, user_id=user.id, reason="password")
    spend_links(session, user_id=user.id, now=now)
    result = start_session(session, credentials=credentials, user=user, now=ended_at)
    stage(session, PasswordChanged(user_id=user.id, how=how))
    session.commit()
    log.info("user %s password %s; every other session ended", user.id, how)
    return result
