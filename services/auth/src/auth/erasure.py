"""Erasing a customer's personal data (Kenya's Data Protection Act, 2019, section 40: the right to erasure).

An operator erases a *closed customer* account once nothing is live: booking, payments, billing and transport are
asked first (`GET /internal/users/{id}/holds`, with no transaction open) and a live booking or rental, money in
flight, a refund not yet paid, an open invoice or a transport request not yet done refuses it (409, each reason
listed). Then, in one transaction:

- the account keeps its id (every service's financial records stay under it, as the law asks them kept) under a
  placeholder name and an address nobody can receive mail at; its phone and password go;
- what auth holds of the person goes: refresh tokens, password links, the addresses they logged in from, the
  login throttles and guard of their email, the names, e-mails and phone numbers in its audit log's details, and the
  events in its outbox and parked messages that carried them (jeshkit.erasure);
- CustomerErased tells every service to remove what it holds of the person (docs/integration.md).

An erased account is never reopened or edited (409); erasing it again changes nothing in auth (200, as it is) but
publishes CustomerErased again, for a service restored from a backup older than the erasure. Admin
accounts are not erased: an operator's name stays with what they did (make them a customer first). Audited.

A customer may ask for it from the portal (`/api/auth/profile/erasure-request`): the request is noted on the account
(the operators' directory finds such accounts) and acknowledged to them (ErasureRequested); an operator does the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from auth.accounts import USER_NOT_FOUND, locked_target, render_detail
from auth.models import AccountLoginGuard, KnownLoginAddress, LoginThrottle, PasswordReset, RefreshFamily, User
from auth.schemas import AccountDetailOut, ErasureRequestOut
from auth.service import utcnow
from jeshkit import audit
from jeshkit.audit import Actor
from jeshkit.erasure import forget_personal_events
from jeshkit.errors import AppError, BadRequest, Conflict, NotFound, Unauthorized
from jeshkit.events import CustomerErased, ErasureRequested, stage
from jeshkit.internal import Hold, UserHolds
from jeshkit.peers import Peer

log = logging.getLogger("auth.erasure")

ERASED_NAME = "Erased customer"
ERASED_PASSWORD = "!erased"  # not an Argon2 hash: no password ever matches it
OWN_ERASE = "You cannot erase your own account"
NOT_CLOSED = "Close the account before erasing its personal data"
AN_ADMIN = "An operator's account is not erased: make them a customer first"
AN_ADMIN_ASKS = "An operator's account is not erased: ask another operator to make you a customer first"
HELD = "The customer's personal data cannot be erased yet"

# The audit actions whose details hold the person's email, phone or name.
_PERSONAL_AUDIT = ("account.opened", "account.contact_changed")


def erased_email(user_id: int) -> str:
    """The placeholder address: unique, and `.invalid` is reserved (RFC 2606), so no mail can ever reach it."""
    return f"erased-{user_id}@erased.invalid"


def erase_account(*, session: Session, actor: Actor, user_id: int, peers: Sequence[Peer]) -> AccountDetailOut:
    """Erase the account's personal data if nothing still needs it (the module's docstring); the account after."""
    if user_id == actor.id:
        raise BadRequest(OWN_ERASE)
    user = session.get(User, user_id)
    if user is None:
        session.rollback()
        raise NotFound(USER_NOT_FOUND)
    if user.erased_at is not None:
        session.rollback()
        return _announce_again(session, actor=actor, user_id=user_id)
    _check_erasable(session, user)
    session.rollback()  # no transaction open while the peers are asked
    holds = [hold for peer in peers for hold in _holds(peer, user_id)]
    if holds:
        raise AppError(409, HELD, [{"field": hold.kind, "message": hold.detail} for hold in holds])

    user = locked_target(session, actor=actor, user_id=user_id)
    if user.erased_at is not None:  # erased meanwhile by another operator
        session.rollback()
        return _announce_again(session, actor=actor, user_id=user_id)
    _check_erasable(session, user)
    now = utcnow()
    old_email = user.email
    user.name, user.email, user.phone = ERASED_NAME, erased_email(user_id), None
    user.password_hash, user.erased_at, user.updated_at = ERASED_PASSWORD, now, now
    session.execute(delete(RefreshFamily).where(RefreshFamily.user_id == user_id))  # its tokens cascade
    session.execute(delete(PasswordReset).where(PasswordReset.user_id == user_id))
    session.execute(delete(KnownLoginAddress).where(KnownLoginAddress.user_id == user_id))
    session.execute(delete(LoginThrottle).where(LoginThrottle.email == old_email))
    session.execute(delete(AccountLoginGuard).where(AccountLoginGuard.email == old_email))
    session.execute(
        text("UPDATE audit_log SET details = jsonb_build_object('erased', true) "
             "WHERE target = :target AND action = ANY(:actions)"),
        {"target": f"user:{user_id}", "actions": list(_PERSONAL_AUDIT)},
    )
    forgotten = forget_personal_events(session, user_id=user_id)
    audit.record(session, actor, "account.erased", f"user:{user_id}", {"closed_at": user.closed_at})
    stage(session, CustomerErased(user_id=user_id, erased_at=now))
    detail = render_detail(session, user, now=now)
    session.commit()
    log.warning("personal data of account %s erased by admin %s (%d stored events forgotten)", user_id, actor.id,
                forgotten)
    return detail


def _announce_again(session: Session, *, actor: Actor, user_id: int) -> AccountDetailOut:
    """An account erased already changes nothing, but CustomerErased goes out again (with the first erasure's
    moment): after a service's database was restored from a backup older than the erasure, erasing again is how it
    forgets the person once more (deploy/README.md, "Backups"; every handler of it is idempotent). Audited."""
    user = locked_target(session, actor=actor, user_id=user_id)
    assert user.erased_at is not None  # never undone
    audit.record(session, actor, "account.erasure_announced", f"user:{user_id}", {"erased_at": user.erased_at})
    stage(session, CustomerErased(user_id=user_id, erased_at=user.erased_at))
    detail = render_detail(session, user, now=utcnow())
    session.commit()
    log.info("erasure of account %s announced again by admin %s", user_id, actor.id)
    return detail


def _check_erasable(session: Session, user: User) -> None:
    if user.closed_at is None:
        session.rollback()
        raise Conflict(NOT_CLOSED)
    if user.role == "admin":
        session.rollback()
        raise Conflict(AN_ADMIN)


def _holds(peer: Peer, user_id: int) -> list[Hold]:
    answer = peer.get_as(f"/internal/users/{user_id}/holds", UserHolds)
    return answer.holds if answer is not None else []


# --- the customer's request (the portal) -----------------------------------------------------------------------
def erasure_request(*, session: Session, user_id: int) -> ErasureRequestOut:
    user = _own_account(session, user_id)
    answer = ErasureRequestOut(requested_at=user.erasure_requested_at)
    session.rollback()
    return answer


def request_erasure(*, session: Session, user_id: int) -> ErasureRequestOut:
    """The customer asks for their personal data to be erased: noted on the account (the operators' directory lists
    such accounts) and acknowledged to them (ErasureRequested: notifications). Asked already: unchanged, nothing
    sent again. An operator's account: 409."""
    user = _own_account(session, user_id, lock=True)
    if user.role == "admin":
        session.rollback()
        raise Conflict(AN_ADMIN_ASKS)
    if user.erasure_requested_at is None:
        user.erasure_requested_at = utcnow()
        stage(session, ErasureRequested(user_id=user_id, requested_at=user.erasure_requested_at))
        log.warning("user %s asked for their personal data to be erased", user_id)
    answer = ErasureRequestOut(requested_at=user.erasure_requested_at)
    session.commit()
    return answer


def withdraw_erasure_request(*, session: Session, user_id: int) -> ErasureRequestOut:
    """The customer changed their mind before an operator acted: the request is withdrawn (none: unchanged)."""
    user = _own_account(session, user_id, lock=True)
    if user.erasure_requested_at is not None:
        user.erasure_requested_at = None
        log.info("user %s withdrew their request to erase their personal data", user_id)
    session.commit()
    return ErasureRequestOut(requested_at=None)


def _own_account(session: Session, user_id: int, *, lock: bool = False) -> User:
    query = select(User).where(User.id == user_id)
    user = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if user is None:
        session.rollback()
        raise Unauthorized("Account no longer exists")
    return user
