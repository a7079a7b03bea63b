"""The operators' side of accounts: find a customer, open an account for a customer at the desk, see how they sign
in, make an operator, correct contact details, end every session of an account, close and reopen an account, lift
the account-wide login guard.
Admins only (the routes check the token's role); every change is written to the audit log in its own transaction.

An admin made a customer again has their access tokens refused everywhere within moments (SessionsEnded), not
within this transaction, so a change also checks, under the row locks, that the acting account is still an admin
in this database; and nobody changes their own role, so the last admin cannot demote themselves, and two admins
demoting each other at the same moment leave one.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from auth.models import (
    AccountLoginGuard,
    KnownLoginAddress,
    LoginThrottle,
    RefreshFamily,
    RefreshToken,
    User,
)
from auth.password_change import ResetPolicy, send_link, spend_links
from auth.passwords import Passwords
from auth.schemas import AccountDetailOut, AccountOut, phone_fragment
from auth.service import change_contact, end_every_session, insert_user, profile_data, refuse_if_closed, utcnow
from jeshkit import audit
from jeshkit.audit import Actor
from jeshkit.errors import BadRequest, Conflict, Forbidden, NotFound
from jeshkit.events import AccountChanged, UserUpdated, stage
from jeshkit.events.auth import Role

log = logging.getLogger("auth.accounts")

USER_NOT_FOUND = "User not found"
OWN_ROLE = "You cannot change your own role"
OWN_CLOSE = "You cannot close your own account"
NOT_AN_ADMIN_NOW = "Your account is no longer an admin"
ERASED = "This account's personal data was erased"


def find_accounts(
    *, session: Session, query: str | None, role: str | None, ids: Sequence[int] | None, guarded: bool = False,
    erasure_requested: bool = False,
    limit: int, offset: int,
) -> list[AccountOut]:
    """Accounts matching every filter given, newest first. `query` matches the name or the email (a substring,
    any case) or, when it looks like part of a phone number in any accepted form, the stored phone; `guarded`: only
    accounts the login guard protects now (somebody is guessing their password from many addresses);
    `erasure_requested`: only customers who asked for their personal data to be erased and are not erased yet."""
    conditions: list[ColumnElement[bool]] = []
    if erasure_requested:
        conditions += [User.erasure_requested_at.is_not(None), User.erased_at.is_(None)]
    if guarded:
        conditions.append(select(AccountLoginGuard.email).where(
            AccountLoginGuard.email == User.email, AccountLoginGuard.guarded_until > utcnow()
        ).exists())
    if query:
        words = query.strip()
        matches = [User.name.icontains(words, autoescape=True), User.email.icontains(words, autoescape=True)]
        digits = phone_fragment(query)
        if digits is not None:
            matches.append(User.phone.contains(digits, autoescape=True))
        conditions.append(or_(*matches))
    if role is not None:
        conditions.append(User.role == role)
    if ids is not None:
        conditions.append(User.id.in_(ids))
    users = session.scalars(
        select(User).where(*conditions).order_by(User.id.desc()).limit(limit).offset(offset)
    ).all()
    session.rollback()
    return [_account_out(user) for user in users]


def account_detail(*, session: Session, user_id: int) -> AccountDetailOut:
    """One account and how it signs in; 404 when unknown."""
    user = session.get(User, user_id)
    if user is None:
        session.rollback()
        raise NotFound(USER_NOT_FOUND)
    detail = render_detail(session, user, now=utcnow())
    session.rollback()
    return detail


def open_account(
    *, session: Session, actor: Actor, passwords: Passwords, policy: ResetPolicy, email: str, phone: str, name: str
) -> AccountOut:
    """An operator opens an account for a customer at the desk (already normalised, as at registration): a customer
    account with no password anybody knows; notifications emails the customer a link to choose theirs (valid
    `policy.invite_ttl`) and welcomes them (UserRegistered). An email another account has: 409. Audited."""
    unknown_password = passwords.hash(secrets.token_urlsafe(32))  # Argon2 before the transaction opens
    locked_target(session, actor=actor, user_id=actor.id)
    user = insert_user(session, email=email, name=name, phone=phone, role="user", password_hash=unknown_password)
    if user is None:
        session.rollback()
        raise Conflict("Email already registered")
    send_link(session, user_id=user.id, now=utcnow(), ttl=policy.invite_ttl, purpose="invite")
    audit.record(session, actor, "account.opened", f"user:{user.id}", {"email": email})
    session.commit()
    log.info("account %s opened by admin %s; the link to choose a password is on its way", user.id, actor.id)
    return _account_out(user)


def update_account(
    *, session: Session, actor: Actor, user_id: int, role: str | None = None, email: str | None = None,
    phone: str | None = None, name: str | None = None,
) -> AccountDetailOut:
    """Make an account an admin or a customer (a demoted admin's sessions end: they log in again as a customer),
    and/or correct its email, phone and name (normalised; an email another account has: 409). One UserUpdated for
    whatever changed; each kind of change audited. An erased account: 409."""
    if role is not None and user_id == actor.id:
        raise BadRequest(OWN_ROLE)
    user = locked_target(session, actor=actor, user_id=user_id)
    _refuse_if_erased(session, user)
    now = utcnow()
    role_before = user.role
    role_changed = role is not None and role != role_before
    if role_changed:
        user.role = str(role)
        user.updated_at = now
    contact_before = change_contact(session, user, email=email, phone=phone, name=name)  # UserUpdated if any
    if role_changed and not contact_before:
        stage(session, UserUpdated(**profile_data(user)))
    ended = 0
    if role_changed and role == "user":
        _, ended = end_every_session(session, user_id=user_id, reason="role")
    if role_changed:
        stage(session, _changed(user, "role"))
        audit.record(session, actor, "account.role_changed", f"user:{user_id}",
                     {"from": role_before, "to": role, "sessions_ended": ended})
    if contact_before:
        audit.record(session, actor, "account.contact_changed", f"user:{user_id}",
                     {field: {"from": old, "to": getattr(user, field)} for field, old in contact_before.items()})
    detail = render_detail(session, user, now=now)
    session.commit()
    if role_changed:
        log.info("user %s made %s by admin %s (%d sessions ended)", user_id, role, actor.id, ended)
    if contact_before:
        log.info("user %s: %s corrected by admin %s", user_id, ", ".join(sorted(contact_before)), actor.id)
    return detail


def sign_out_everywhere(*, session: Session, actor: Actor, user_id: int) -> AccountDetailOut:
    """End every session of an account (a lost phone, a shared password): each refresh token family is revoked, and
    every service refuses the access tokens already issued (SessionsEnded)."""
    user = locked_target(session, actor=actor, user_id=user_id)
    now = utcnow()
    _, ended = end_every_session(session, user_id=user_id, reason="signed_out")
    audit.record(session, actor, "account.signed_out", f"user:{user_id}", {"sessions_ended": ended})
    detail = render_detail(session, user, now=now)
    session.commit()
    log.info("every session of user %s ended by admin %s (%d)", user_id, actor.id, ended)
    return detail


def close_account(*, session: Session, actor: Actor, user_id: int) -> AccountDetailOut:
    """Nobody logs in to the account until it is reopened (a customer who left, a member of staff gone): every
    session ends (SessionsEnded), its password links are spent, a login with the right password is told the account
    is closed (403), a wrong one is refused as always. Its records stay. Your own account: 400. Audited."""
    if user_id == actor.id:
        raise BadRequest(OWN_CLOSE)
    user = locked_target(session, actor=actor, user_id=user_id)
    now = utcnow()
    ended = 0
    was_open = user.closed_at is None
    if was_open:
        user.closed_at = now
        user.updated_at = now
        _, ended = end_every_session(session, user_id=user_id, reason="signed_out")
        spend_links(session, user_id=user_id, now=now)
        stage(session, _changed(user, "closed"))
        audit.record(session, actor, "account.closed", f"user:{user_id}", {"sessions_ended": ended})
    detail = render_detail(session, user, now=now)
    session.commit()
    if was_open:
        log.warning("account %s closed by admin %s (%d sessions ended)", user_id, actor.id, ended)
    return detail


def reopen_account(*, session: Session, actor: Actor, user_id: int) -> AccountDetailOut:
    """The closed account may log in again with its password (or choose one with "Forgot your password?"). Audited
    when it was closed. An erased account stays closed: 409."""
    user = locked_target(session, actor=actor, user_id=user_id)
    _refuse_if_erased(session, user)
    now = utcnow()
    was_closed = user.closed_at is not None
    if was_closed:
        audit.record(session, actor, "account.reopened", f"user:{user_id}", {"closed_at": user.closed_at})
        user.closed_at = None
        user.updated_at = now
        stage(session, _changed(user, "reopened"))
    detail = render_detail(session, user, now=now)
    session.commit()
    if was_closed:
        log.info("account %s reopened by admin %s", user_id, actor.id)
    return detail


def lift_login_guard(*, session: Session, actor: Actor, user_id: int) -> AccountDetailOut:
    """The owner, on the phone with an operator, may log in from a new address at once: the account-wide guard and
    the failed attempts counted for its email (every address) are cleared. Nothing to lift: nothing logged."""
    user = locked_target(session, actor=actor, user_id=user_id)
    now = utcnow()
    guard = session.scalar(
        delete(AccountLoginGuard)
        .where(AccountLoginGuard.email == user.email)
        .returning(AccountLoginGuard.guarded_until)
    )
    throttles = len(session.scalars(
        delete(LoginThrottle).where(LoginThrottle.email == user.email).returning(LoginThrottle.client_ip)
    ).all())
    was_guarded = guard is not None and guard > now
    if was_guarded or throttles:
        audit.record(session, actor, "account.login_guard_lifted", f"user:{user_id}",
                     {"guarded_until": guard if was_guarded else None, "addresses_cleared": throttles})
    detail = render_detail(session, user, now=now)
    session.commit()
    if was_guarded:
        log.warning("login guard of user %s lifted by admin %s", user_id, actor.id)
    return detail


# --- helpers (never commit) -----------------------------------------------------------------------


def _changed(user: User, change: Literal["closed", "reopened", "role"]) -> AccountChanged:
    """What the owner is told of (notifications): the change, and the account's role now."""
    return AccountChanged(user_id=user.id, change=change, role=cast(Role, user.role))


def locked_target(session: Session, *, actor: Actor, user_id: int) -> User:
    """The target account locked, after the acting admin's own row (in id order: no deadlock between two admins
    acting on each other), which must still be an open admin account (403 otherwise: an admin closed by another has
    access tokens not refused everywhere until SessionsEnded is followed); 404 when the target is unknown."""
    rows = session.scalars(
        select(User).where(User.id.in_({actor.id, user_id})).order_by(User.id).with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    found = {user.id: user for user in rows}
    acting = found.get(actor.id)
    if acting is None or acting.role != "admin":
        session.rollback()
        raise Forbidden(NOT_AN_ADMIN_NOW)
    refuse_if_closed(session, acting)
    target = found.get(user_id)
    if target is None:
        session.rollback()
        raise NotFound(USER_NOT_FOUND)
    return target


def _refuse_if_erased(session: Session, user: User) -> None:
    if user.erased_at is not None:
        session.rollback()
        raise Conflict(ERASED)


def render_detail(session: Session, user: User, *, now: datetime) -> AccountDetailOut:
    last_login = session.scalar(
        select(func.max(KnownLoginAddress.last_success_at)).where(KnownLoginAddress.user_id == user.id)
    )
    live_token = (
        select(RefreshToken.id)
        .where(RefreshToken.family_id == RefreshFamily.id, RefreshToken.used_at.is_(None),
               RefreshToken.expires_at > now)
        .exists()
    )
    sessions = session.scalar(
        select(func.count()).select_from(RefreshFamily)
        .where(RefreshFamily.user_id == user.id, RefreshFamily.revoked_at.is_(None), live_token)
    )
    guarded_until = session.scalar(
        select(AccountLoginGuard.guarded_until)
        .where(AccountLoginGuard.email == user.email, AccountLoginGuard.guarded_until > now)
    )
    return AccountDetailOut(**_account_fields(user), last_login_at=last_login, active_sessions=sessions or 0,
                            login_guarded_until=guarded_until)


def _account_out(user: User) -> AccountOut:
    return AccountOut(**_account_fields(user))


def _account_fields(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "phone": user.phone, "role": user.role,
            "created_at": user.created_at, "closed_at": user.closed_at,
            "erasure_requested_at": user.erasure_requested_at, "erased_at": user.erased_at}
