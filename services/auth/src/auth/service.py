"""Use cases of the auth service: each owns its transaction and commits it.

Refresh tokens: a login starts a family; each refresh spends the presented token and issues the next one
of the same family. Presenting a spent token means two parties hold the family (a stolen token), so the
whole family is revoked and both must log in again. Rotation and revocation lock the family row, so a
logout cannot miss a token issued by a refresh running at the same moment. Ending every session of an account
(end_every_session) locks the account row and then its live families, and a login starts its session under the
account's lock: neither a refresh nor a login racing it leaves a session that outlives it.

Brute force and floods: see auth.throttle (per email and client address, exponential backoff; per email over
every address, a guard that only the account's own addresses pass; a token bucket per client address on /login
and /register).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from auth.models import (
    AccountLoginGuard,
    CredentialBucket,
    KnownLoginAddress,
    LoginThrottle,
    PasswordReset,
    RefreshFamily,
    RefreshToken,
    User,
)
from auth.passwords import Passwords
from auth.schemas import normalise_email, normalise_name
from auth.throttle import (
    LoginPolicy,
    clear_login_attempts,
    count_account_attempt,
    count_login_attempt,
    remember_login_address,
)
from auth.tokens import AccessTokens, hash_refresh_token, new_refresh_token
from jeshkit.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from jeshkit.events import SessionsEnded, UserRegistered, UserUpdated, stage
from jeshkit.internal import InternalUser

log = logging.getLogger("auth.service")

INVALID_CREDENTIALS = "Invalid credentials"
INVALID_REFRESH_TOKEN = "Invalid or expired refresh token"
ACCOUNT_CLOSED = "This account is closed; please contact Jesh Storage"
PURGE_BATCH = 1000  # rows of one table per purge run


@dataclass(frozen=True)
class Credentials:
    """What the use cases need besides a session: password hashing, token minting, the login policy."""

    passwords: Passwords
    access_tokens: AccessTokens
    refresh_ttl: timedelta
    login_policy: LoginPolicy


@dataclass(frozen=True)
class AuthResult:
    user: User
    token: str
    refresh_token: str


def utcnow() -> datetime:
    """Now, to the millisecond: an access token's `iat` is this moment, and an ended session's `before` is compared
    with it exactly (jeshkit.sessions)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def register(
    *, session: Session, credentials: Credentials, email: str, phone: str, name: str, password: str, client_ip: str
) -> AuthResult:
    """Create a user account (role user), publish UserRegistered and start a session: the account's first login,
    from this address."""
    password_hash = credentials.passwords.hash(password)
    user = insert_user(session, email=email, name=name, phone=phone, role="user", password_hash=password_hash)
    if user is None:
        session.rollback()
        raise BadRequest("Email already registered")
    now = utcnow()
    remember_login_address(session, user_id=user.id, client_ip=client_ip, now=now)
    result = start_session(session, credentials=credentials, user=user, now=now)
    session.commit()
    log.info("user %s registered", user.id)
    return result


def login(*, session: Session, credentials: Credentials, email: str, password: str, client_ip: str) -> AuthResult:
    """Check email and password (same answer and time for an unknown email) and start a session."""
    email = email.strip().lower()
    now = utcnow()
    count_login_attempt(session, email=email, client_ip=client_ip, policy=credentials.login_policy, now=now)
    count_account_attempt(session, email=email, client_ip=client_ip, policy=credentials.login_policy, now=now)
    user = session.scalars(select(User).where(User.email == email)).one_or_none()
    if not credentials.passwords.verify(user.password_hash if user else None, password):
        session.rollback()
        raise Unauthorized(INVALID_CREDENTIALS)
    assert user is not None  # verify() is False without a hash
    checked_hash = user.password_hash
    rehashed = credentials.passwords.hash(password) if credentials.passwords.needs_rehash(checked_hash) else None
    # The account as it is now, locked until the session has started: a password change or a close that ended its
    # sessions while the password was checked has committed, and must not be outlived by a session started after it.
    user = session.scalars(
        select(User).where(User.id == user.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    if user.password_hash != checked_hash:  # changed meanwhile: the password given is no longer the account's
        session.rollback()
        raise Unauthorized(INVALID_CREDENTIALS)
    if user.closed_at is not None:  # told only to whoever knows the password
        session.rollback()
        raise Forbidden(ACCOUNT_CLOSED)
    now = utcnow()
    clear_login_attempts(session, user_id=user.id, email=email, client_ip=client_ip, now=now)
    if rehashed is not None:
        user.password_hash = rehashed
        user.updated_at = now
    result = start_session(session, credentials=credentials, user=user, now=now)
    session.commit()
    return result


def refresh(*, session: Session, credentials: Credentials, refresh_token: str) -> AuthResult:
    """Spend a refresh token for a new access token and the next refresh token of its family."""
    now = utcnow()
    token_hash = hash_refresh_token(refresh_token)
    family_id = session.scalar(select(RefreshToken.family_id).where(RefreshToken.token_hash == token_hash))
    if family_id is None:
        raise Unauthorized(INVALID_REFRESH_TOKEN)
    family = session.scalars(
        select(RefreshFamily).where(RefreshFamily.id == family_id).with_for_update()
    ).one_or_none()
    # Read under the family lock: a concurrent refresh of the same token has committed or not started.
    token = session.scalars(select(RefreshToken).where(RefreshToken.token_hash == token_hash)).one_or_none()
    if family is None or token is None or family.revoked_at is not None:  # None: purged (long expired)
        session.rollback()
        raise Unauthorized(INVALID_REFRESH_TOKEN)
    if token.used_at is not None:
        family.revoked_at = now
        family.revoked_reason = "reuse"
        session.commit()
        log.warning("refresh token reused: family %s of user %s revoked", family.id, family.user_id)
        raise Unauthorized("Refresh token already used; please log in again")
    if token.expires_at <= now:
        session.rollback()
        raise Unauthorized(INVALID_REFRESH_TOKEN)
    user = session.get_one(User, family.user_id)
    if user.closed_at is not None:  # its sessions ended at the close; a family that outlived it is no session
        session.rollback()
        raise Unauthorized(INVALID_REFRESH_TOKEN)
    token.used_at = now
    next_token = _add_refresh_token(session, family_id=family.id, ttl=credentials.refresh_ttl, now=now)
    access_token = credentials.access_tokens.mint(user_id=user.id, role=user.role, now=now)
    session.commit()
    return AuthResult(user=user, token=access_token, refresh_token=next_token)


def logout(*, session: Session, user_id: int, refresh_token: str) -> None:
    """Revoke the family of the caller's refresh token (a token of someone else, or none, changes nothing)."""
    family_id = session.scalar(
        select(RefreshToken.family_id)
        .join(RefreshFamily, RefreshFamily.id == RefreshToken.family_id)
        .where(RefreshToken.token_hash == hash_refresh_token(refresh_token), RefreshFamily.user_id == user_id)
    )
    if family_id is not None:
        session.execute(
            update(RefreshFamily)
            .where(RefreshFamily.id == family_id, RefreshFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason="logout")
        )
    session.commit()


def logout_everywhere_else(*, session: Session, credentials: Credentials, user_id: int,
                           refresh_token: str) -> AuthResult:
    """The owner ends every session of the account (a lost phone, a shared computer) and goes on here with a new
    one: every refresh token family is revoked, and every access token issued before is refused everywhere
    (SessionsEnded). The caller shows the current refresh token of one of the account's sessions: an access token
    alone (15 minutes, perhaps copied from a shared computer) must not become a session of months that signs the
    owner out."""
    user = session.scalars(select(User).where(User.id == user_id).with_for_update()).one_or_none()
    if user is None:
        session.rollback()
        raise Unauthorized("Account no longer exists")
    refuse_if_closed(session, user)
    current = session.scalar(
        select(RefreshToken.id)
        .join(RefreshFamily, RefreshFamily.id == RefreshToken.family_id)
        .where(RefreshToken.token_hash == hash_refresh_token(refresh_token), RefreshFamily.user_id == user_id,
               RefreshFamily.revoked_at.is_(None), RefreshToken.used_at.is_(None),
               RefreshToken.expires_at > func.now())
    )
    if current is None:
        session.rollback()
        raise Unauthorized(INVALID_REFRESH_TOKEN)
    now, ended = end_every_session(session, user_id=user_id, reason="signed_out")
    result = start_session(session, credentials=credentials, user=user, now=now)
    session.commit()
    log.info("user %s ended every other session (%d)", user_id, ended)
    return result


def get_profile(*, session: Session, user_id: int, lock: bool = False) -> User:
    """The caller's account (`lock`: its row locked until the transaction ends)."""
    user = session.get(User, user_id, with_for_update=lock or None, populate_existing=lock)
    if user is None:
        raise Unauthorized("Account no longer exists")
    return user


def user_facts(*, session: Session, user_id: int) -> InternalUser:
    """Any account's facts, as UserRegistered gives them (for peers that missed the event), and whether it is closed;
    404 when unknown, and when its personal data was erased: the person is gone (nothing to send them, nothing to
    book for them)."""
    user = session.get(User, user_id)
    if user is None or user.erased_at is not None:
        raise NotFound("User not found")
    return InternalUser(**profile_data(user), closed=user.closed_at is not None)


def update_profile(
    *, session: Session, user_id: int, email: str | None, phone: str | None, name: str | None
) -> User:
    """Change any of email, phone and name (already normalised); UserUpdated when something changed."""
    user = session.scalars(select(User).where(User.id == user_id).with_for_update()).one_or_none()
    if user is None:
        session.rollback()
        raise Unauthorized("Account no longer exists")
    refuse_if_closed(session, user)
    changes = change_contact(session, user, email=email, phone=phone, name=name)
    session.commit()
    if changes:
        log.info("user %s updated %s", user_id, ", ".join(sorted(changes)))
    return user


def change_contact(
    session: Session, user: User, *, email: str | None, phone: str | None, name: str | None
) -> dict[str, str]:
    """Set whichever of email, phone and name (normalised) differ on the locked account and stage UserUpdated; the
    fields changed, each with its value before. An email another account has: 409 (rolled back). Never commits."""
    changes = {
        field: value
        for field, value in (("email", email), ("phone", phone), ("name", name))
        if value is not None and value != getattr(user, field)
    }
    if "email" in changes and session.scalar(select(User.id).where(User.email == changes["email"], User.id != user.id)):
        session.rollback()
        raise Conflict("Email already registered")
    before = {field: getattr(user, field) for field in changes}
    if changes:
        for field, value in changes.items():
            setattr(user, field, value)
        user.updated_at = utcnow()
        try:
            session.flush()
        except IntegrityError:  # the same email taken at the same moment by another account
            session.rollback()
            raise Conflict("Email already registered") from None
        stage(session, UserUpdated(**profile_data(user)))
    return before


def bootstrap_admin(
    *, session_factory: sessionmaker[Session], passwords: Passwords, email: str, password: str, name: str
) -> bool:
    """Create the first admin while the system has no open admin account and that email does not exist (never
    overwritten; safe with replicas starting at once). An admin who changed the start-up admin's email is that admin:
    a restart does not make a second one with JESH_ADMIN_EMAIL; if every admin account was closed, one is made."""
    email = normalise_email(email)
    with session_factory() as session:
        existing = session.scalar(select(User.role).where(User.email == email))
        if existing is None:
            admin = session.scalar(select(User.email).where(User.role == "admin", User.closed_at.is_(None)).limit(1))
            if admin is not None:
                log.info("admin bootstrap: an admin account exists (%s); %s not created", admin, email)
                return False
            user = insert_user(
                session, email=email, name=normalise_name(name), phone=None, role="admin",
                password_hash=passwords.hash(password),
            )
            if user is not None:
                session.commit()
                log.info("admin account %s created", email)
                return True
            existing = session.scalar(select(User.role).where(User.email == email))
        if existing != "admin":
            log.warning("admin bootstrap: %s already exists with role %s; left unchanged", email, existing)
        return False


def purge_expired(
    session_factory: sessionmaker[Session], *, known_address_for: timedelta = timedelta(days=90)
) -> None:
    """Delete refresh tokens and reset links a day past expiry, families left empty, login counters past their
    use, and the addresses an account has not logged in from for `known_address_for`."""
    now = utcnow()
    with session_factory() as session:
        _delete_batch(session, [RefreshToken.id], RefreshToken.expires_at < now - timedelta(days=1))
        _delete_batch(session, [RefreshFamily.id],
                      ~select(RefreshToken.id).where(RefreshToken.family_id == RefreshFamily.id).exists())
        _delete_batch(
            session, [LoginThrottle.email, LoginThrottle.client_ip],
            LoginThrottle.last_attempt_at < now - timedelta(days=1),
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < now),
        )
        _delete_batch(session, [CredentialBucket.client_ip], CredentialBucket.updated_at < now - timedelta(hours=1))
        _delete_batch(session, [PasswordReset.id], PasswordReset.expires_at < now - timedelta(days=1))
        _delete_batch(
            session, [AccountLoginGuard.email],
            AccountLoginGuard.window_started_at < now - timedelta(days=1),
            (AccountLoginGuard.guarded_until.is_(None)) | (AccountLoginGuard.guarded_until < now),
        )
        _delete_batch(session, [KnownLoginAddress.user_id, KnownLoginAddress.client_ip],
                      KnownLoginAddress.last_success_at < now - known_address_for)
        session.commit()


def _delete_batch(session: Session, key: list[InstrumentedAttribute[Any]], *conditions: ColumnElement[bool]) -> None:
    """Delete up to PURGE_BATCH rows of the key's table matching every condition, skipping rows another replica's
    purge (or a login) holds locked."""
    table = key[0].class_
    batch = select(*key).where(*conditions).limit(PURGE_BATCH).with_for_update(skip_locked=True)
    keys = key[0].in_(batch) if len(key) == 1 else tuple_(*key).in_(batch)
    session.execute(delete(table).where(keys))


# --- helpers (never commit) -----------------------------------------------------------------------


def insert_user(
    session: Session, *, email: str, name: str, phone: str | None, role: str, password_hash: str
) -> User | None:
    """Insert a user and stage UserRegistered; None when the email is taken (the unique key decides)."""
    user_id = session.scalar(
        insert(User)
        .values(email=email, name=name, phone=phone, role=role, password_hash=password_hash)
        .on_conflict_do_nothing(index_elements=[User.email])
        .returning(User.id)
    )
    if user_id is None:
        return None
    user = session.get_one(User, user_id)
    stage(session, UserRegistered(**profile_data(user)))
    return user


def refuse_if_closed(session: Session, user: User) -> None:
    """403 for a closed (or erased) account, locked by the caller. Its access tokens are refused everywhere once
    SessionsEnded has come round, but an owner's self-service must not wait for that: an access token issued before
    the close and not refused yet would otherwise start a session that outlives the close, or write over an erased
    account's placeholders."""
    if user.closed_at is not None:
        session.rollback()
        raise Forbidden(ACCOUNT_CLOSED)


def profile_data(user: User) -> dict[str, Any]:
    """The data of UserRegistered and UserUpdated: the whole profile."""
    return {"user_id": user.id, "email": user.email, "phone": user.phone, "name": user.name, "role": user.role}


def end_every_session(
    session: Session, *, user_id: int, reason: Literal["password", "signed_out", "role"]
) -> tuple[datetime, int]:
    """Revoke every live refresh token family of the account (its row locked by the caller) and stage SessionsEnded,
    so that every service refuses its access tokens issued before the moment returned; that moment, which a session
    the caller starts must use, and how many families were live (never commits).

    The moment is taken once every live family is locked, and after the newest token any of them holds: a refresh
    that locked one first has committed by then, and its access token (`iat` = its token's `created_at`, even from a
    replica whose clock is ahead) is older, so refused; a refresh that comes after waits for this transaction and
    finds its family revoked. The caller's lock on the account keeps a login from adding a family meanwhile."""
    live = session.scalars(
        select(RefreshFamily.id)
        .where(RefreshFamily.user_id == user_id, RefreshFamily.revoked_at.is_(None))
        .order_by(RefreshFamily.id)
        .with_for_update()
    ).all()
    now = utcnow()
    newest = session.scalar(select(func.max(RefreshToken.created_at)).where(RefreshToken.family_id.in_(live)))
    if newest is not None and newest >= now:
        now = newest + timedelta(milliseconds=1)
    session.execute(
        update(RefreshFamily)
        .where(RefreshFamily.id.in_(live))
        .values(revoked_at=now, revoked_reason="password" if reason == "password" else "admin")
    )
    stage(session, SessionsEnded(user_id=user_id, before=now, reason=reason))
    return now, len(live)


def start_session(session: Session, *, credentials: Credentials, user: User, now: datetime) -> AuthResult:
    """A new refresh token family for the user and an access token (never commits)."""
    family = RefreshFamily(id=uuid.uuid4(), user_id=user.id, created_at=now)
    session.add(family)
    session.flush()
    refresh_token = _add_refresh_token(session, family_id=family.id, ttl=credentials.refresh_ttl, now=now)
    access_token = credentials.access_tokens.mint(user_id=user.id, role=user.role, now=now)
    return AuthResult(user=user, token=access_token, refresh_token=refresh_token)


def _add_refresh_token(session: Session, *, family_id: uuid.UUID, ttl: timedelta, now: datetime) -> str:
    token = new_refresh_token()
    session.add(
        RefreshToken(token_hash=hash_refresh_token(token), family_id=family_id, created_at=now, expires_at=now + ttl)
    )
    return token
