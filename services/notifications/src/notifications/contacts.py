"""The contact finder: a periodic job, shared by every replica through row locks, that sends the held messages.

It claims due held messages with FOR UPDATE SKIP LOCKED, leasing them (next_attempt_at moves past the lease) in one
statement, as the sender does. For each user among them it reads the contact, and when it is not known asks auth
(`GET /internal/users/{id}`) through `jeshkit.peers.fetch_on_miss`: no transaction is open during the call, the
answer is saved as the recipient (UserRegistered's facts; the preferences are left as they are) and committed.
Then, in one transaction, the user's claimed messages are queued exactly as the event's reaction would have queued
them (service.queue: same texts, the user's language and channel choices, quiet hours for reminders, once per
source_key and channel) and deleted; a hold reminder whose hold is over by then is dropped, as the scheduler does
(and a password reset email whose link has expired).

Auth away (or answering nonsense): retried with the sender's backoff, for as long as it takes; nothing is lost.
Auth has no such user: retried with the same backoff up to NOTIFY_CONTACT_MAX_MISSES answers, then dropped with a
warning (never retried forever). A process that dies mid-round leaves its claim to expire and be taken again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session, sessionmaker

from jeshkit.db import autocommit
from jeshkit.errors import UpstreamUnavailable
from jeshkit.internal import InternalUser
from jeshkit.peers import Peer, fetch_on_miss
from notifications import held, service
from notifications.delivery import Retry
from notifications.models import HeldMessage
from notifications.service import Contact, Policy

log = logging.getLogger("notifications.contacts")


@dataclass(frozen=True)
class Claimed:
    id: int
    user_id: int
    attempts: int
    misses: int


_CLAIM = text(
    """
    UPDATE held_messages SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => :lease)
    WHERE id IN (
        SELECT id FROM held_messages
        WHERE next_attempt_at <= now()
        ORDER BY next_attempt_at, id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, user_id, attempts, misses
    """
)
_RETRY = text(
    "UPDATE held_messages SET last_error = :error, misses = misses + :missed, "
    "next_attempt_at = now() + make_interval(secs => :delay) WHERE id = :id"
)
_DROP = text("DELETE FROM held_messages WHERE id = ANY(:ids) RETURNING source_key, template")


def send_held(session_factory: sessionmaker[Session], *, policy: Policy, auth: Peer, retry: Retry,
              max_misses: int, batch_size: int) -> int:
    """One round: claim due held messages, find each user's contact and queue their messages. Returns how many
    were claimed."""
    with session_factory() as session, autocommit(session) as connection:
        claimed = [Claimed(*row) for row in connection.execute(
            _CLAIM, {"limit": batch_size, "lease": retry.lease_seconds}).all()]
    by_user: dict[int, list[Claimed]] = defaultdict(list)
    for message in claimed:
        by_user[message.user_id].append(message)
    for user_id, messages in by_user.items():
        with session_factory() as session:
            _send_for_user(session, user_id, messages, policy=policy, auth=auth, retry=retry, max_misses=max_misses)
    return len(claimed)


def _send_for_user(session: Session, user_id: int, messages: list[Claimed], *, policy: Policy, auth: Peer,
                   retry: Retry, max_misses: int) -> None:
    # Auth's answer is the account as it is at least from this moment on: an event that occurred before it is no
    # news (a late UserRegistered puts no old phone back). Taken before asking: an event auth stages while it answers
    # is newer, and applies.
    asked_at = datetime.now(UTC)
    try:
        contact = fetch_on_miss(
            session,
            load=lambda: service.known_contact(session, user_id),
            fetch=lambda: auth.get_as(f"/internal/users/{user_id}", InternalUser),
            save=lambda user: service.remember_user(session=session, user_id=user.user_id, email=user.email,
                                                    phone=user.phone, name=user.name, as_of=asked_at),
        )
    except UpstreamUnavailable as exc:
        session.rollback()
        with autocommit(session) as connection:
            _retry(connection, messages, retry, error=exc.message, missed=False)
        log.warning("auth could not say who user %s is (%s): %d held message(s) will be retried", user_id,
                    exc.message, len(messages), extra={"user_id": user_id})
        return
    if contact is None:
        session.rollback()
        with autocommit(session) as connection:
            _not_found(connection, user_id, messages, retry, max_misses=max_misses)
        return
    _queue(session, contact, user_id, [message.id for message in messages], policy=policy)


def _queue(session: Session, contact: Contact, user_id: int, ids: list[int], *, policy: Policy) -> None:
    """The user's claimed messages, queued as the event's reaction would have queued them, and no longer held."""
    rows = session.scalars(
        select(HeldMessage).where(HeldMessage.id.in_(ids)).order_by(HeldMessage.id).with_for_update()
    ).all()
    queued, now = 0, datetime.now(UTC)
    for row in rows:
        values = held.decode(row.params)
        expires = values.get("expires")
        if row.template in service.EXPIRING and isinstance(expires, datetime) and expires <= now:
            # As the scheduler does: a reminder of a hold that is over (or a reset link that no longer works) says
            # nothing true any more.
            log.info("held %s %s dropped: its time is over", row.template, row.source_key,
                     extra={"user_id": user_id})
        else:
            queued += service.queue(session=session, policy=policy, user_id=user_id, contact=contact,
                                    template=row.template, source_key=row.source_key, values=values, now=now)
        session.delete(row)
    session.commit()
    log.info("user %s known: %d held message(s) queued (%d sends)", user_id, len(rows), queued,
             extra={"user_id": user_id})


def _not_found(connection: Connection, user_id: int, messages: list[Claimed], retry: Retry, *,
               max_misses: int) -> None:
    """Auth has no such user: try again later (a bound number of times), then drop the messages for good."""
    spent = [message.id for message in messages if message.misses + 1 >= max_misses]
    _retry(connection, [message for message in messages if message.id not in spent], retry,
           error="auth: no such user", missed=True)
    if spent:
        dropped = connection.execute(_DROP, {"ids": spent}).all()
        log.warning("auth has no user %s: %d held message(s) dropped after %d tries: %s", user_id, len(dropped),
                    max_misses, ", ".join(f"{template} ({key})" for key, template in dropped),
                    extra={"user_id": user_id})


def _retry(connection: Connection, messages: list[Claimed], retry: Retry, *, error: str, missed: bool) -> None:
    for message in messages:
        connection.execute(_RETRY, {"id": message.id, "error": error[:500], "missed": int(missed),
                                    "delay": retry.backoff(message.attempts)})
