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
from datetime import datetime, timedelta

import httpx
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from auth.accounts import USER_NOT_FOUND, locked_target, render_detail
from auth.models import (
    AccountLoginGuard,
    KnownLoginAddress,
    LoginThrottle,
    PasswordReset,
    RefreshFamily,
    StreamErasure,
    User,
)
from auth.schemas import ERASED_DOMAIN, AccountDetailOut, ErasureRequestOut
from auth.service import get_profile, utcnow
from auth.settings import Settings
from jeshkit import audit
from jeshkit.audit import Actor, ActorRef
from jeshkit.erasure import ERASED_NAME, forget_personal_events
from jeshkit.errors import AppError, BadRequest, Conflict, NotFound
from jeshkit.events import CustomerErased, ErasureRequested, stage
from jeshkit.internal import Hold, UserHolds
from jeshkit.peers import Peer

log = logging.getLogger("auth.erasure")

RETENTION = ActorRef(id=0, role="system")  # who erases in the audit log when the retention job does
ERASED_PASSWORD = "!erased"  # not an Argon2 hash: no password ever matches it
OWN_ERASE = "You cannot erase your own account"
NOT_CLOSED = "Close the account before erasing its personal data"
AN_ADMIN = "An operator's account is not erased: make them a customer first"
AN_ADMIN_ASKS = "An operator's account is not erased: ask another operator to make you a customer first"
HELD = "The customer's personal data cannot be erased yet"

# The audit actions whose details hold the person's email, phone or name.
_PERSONAL_AUDIT = ("account.opened", "account.contact_changed")


def erasure_peers(settings: Settings, http: httpx.Client) -> list[Peer]:
    """The services asked what they still need a person for, before an erasure."""
    return [Peer("booking", settings.booking_url, http), Peer("payments", settings.payments_url, http),
            Peer("billing", settings.billing_url, http), Peer("transport", settings.transport_url, http)]


def erased_email(user_id: int) -> str:
    """The placeholder address: unique, and `.invalid` is reserved (RFC 2606), so no mail can ever reach it."""
    return f"erased-{user_id}@{ERASED_DOMAIN}"


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
    holds = _holds(peers, user_id)
    if holds:
        raise AppError(409, HELD, [{"field": hold.kind, "message": hold.detail} for hold in holds])

    user = locked_target(session, actor=actor, user_id=user_id)
    if user.erased_at is not None:  # erased meanwhile by another operator
        session.rollback()
        return _announce_again(session, actor=actor, user_id=user_id)
    _check_erasable(session, user)
    now = utcnow()
    forgotten = _erase(session, user, actor=actor, now=now, details={"closed_at": user.closed_at})
    detail = render_detail(session, user, now=now)
    session.commit()
    log.warning("personal data of account %s erased by admin %s (%d stored events forgotten)", user_id, actor.id,
                forgotten)
    return detail


def erase_closed_accounts(
    session_factory: sessionmaker[Session], *, peers: Sequence[Peer], after: timedelta, most: int = 500
) -> int:
    """The retention job (ERASE_CLOSED_AFTER_DAYS, Kenya's Data Protection Act s.39: kept no longer than needed):
    each customer account closed longer than `after` ago is erased as an operator would erase it, if nothing is
    live (asked with no transaction open); one that is held, or whose peers cannot answer, waits for the next run.
    Replicas may run it at once: each account is erased under its row lock, once. How many were erased."""
    cutoff = utcnow() - after
    with session_factory() as session:
        candidates = session.scalars(
            select(User.id)
            .where(User.role == "user", User.erased_at.is_(None), User.closed_at < cutoff)
            .order_by(User.closed_at).limit(most)
        ).all()
    erased = 0
    for user_id in candidates:
        try:
            holds = _holds(peers, user_id)
        except AppError as exc:
            log.warning("account %s not erased by the retention job this time: %s", user_id, exc.message)
            continue
        if holds:
            log.info("account %s closed since before %s is not erased yet: %s", user_id, cutoff.date(),
                     "; ".join(hold.detail for hold in holds))
            continue
        with session_factory() as session:
            user = session.scalars(select(User).where(User.id == user_id).with_for_update()).one_or_none()
            if (user is None or user.erased_at is not None or user.closed_at is None or user.closed_at >= cutoff
                    or _refusal(user)):
                continue  # erased by another replica or an operator, reopened, made an operator meanwhile
            forgotten = _erase(session, user, actor=RETENTION, now=utcnow(),
                               details={"closed_at": user.closed_at, "retention_days": after.days})
            session.commit()
        erased += 1
        log.warning("personal data of account %s erased by the retention job, closed more than %d days ago "
                    "(%d stored events forgotten)", user_id, after.days, forgotten)
    return erased


def _erase(session: Session, user: User, *, actor: Actor, now: datetime, details: dict[str, object]) -> int:
    """The erasure itself, in the caller's transaction (never commits); how many stored events were forgotten."""
    user_id = user.id
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
    audit.record(session, actor, "account.erased", f"user:{user_id}", details)
    stage(session, CustomerErased(user_id=user_id, erased_at=now))
    # The events the stream keeps go too, after this commits (auth.stream_erasure).
    session.execute(insert(StreamErasure).values(user_id=user_id).on_conflict_do_nothing())
    return forgotten


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


def _refusal(user: User) -> str | None:
    """Why this account may not be erased, whatever the other services hold (None: it may)."""
    if user.closed_at is None:
        return NOT_CLOSED
    if user.role == "admin":
        return AN_ADMIN
    return None


def _check_erasable(session: Session, user: User) -> None:
    refusal = _refusal(user)
    if refusal is not None:
        session.rollback()
        raise Conflict(refusal)


def _holds(peers: Sequence[Peer], user_id: int) -> list[Hold]:
    """What each peer still needs the person for (a 503 AppError when one cannot answer)."""
    holds: list[Hold] = []
    for peer in peers:
        answer = peer.get_as(f"/internal/users/{user_id}/holds", UserHolds)
        holds += answer.holds if answer is not None else []
    return holds


# --- the customer's request (the portal) -----------------------------------------------------------------------
def erasure_request(*, session: Session, user_id: int) -> ErasureRequestOut:
    user = get_profile(session=session, user_id=user_id)
    answer = ErasureRequestOut(requested_at=user.erasure_requested_at)
    session.rollback()
    return answer


def request_erasure(*, session: Session, user_id: int) -> ErasureRequestOut:
    """The customer asks for their personal data to be erased: noted on the account (the operators' directory lists
    such accounts) and acknowledged to them (ErasureRequested: notifications). Asked already: unchanged, nothing
    sent again. An operator's account: 409."""
    user = get_profile(session=session, user_id=user_id, lock=True)
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
    user = get_profile(session=session, user_id=user_id, lock=True)
    if user.erasure_requested_at is not None:
        user.erasure_requested_at = None
        log.info("user %s withdrew their request to erase their personal data", user_id)
    session.commit()
    return ErasureRequestOut(requested_at=None)


