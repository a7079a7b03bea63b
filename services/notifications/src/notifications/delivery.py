"""The sender and the scheduler: periodic jobs shared by every replica through row locks.

The sender claims due queued messages with FOR UPDATE SKIP LOCKED, leasing them (next_attempt_at moves past
the lease) in one statement, sends each with no transaction open, and records its outcome as soon as it is known
(one statement per message: a crash between a send and its record can repeat that one message, no more). Just before
each send it looks again that the message is still queued and still its own, and leases it anew: one settled
meanwhile (its customer erased during the round), or claimed by another replica once the round outlasted its lease,
does not go, nor does a reminder on a channel its customer has turned off since it was queued (withdrawn:
`failed`); a reminder due again in the quiet hours (a retry) waits for their end. From that look until its outcome is
recorded the message is on its way (`sending_until`): what changes waiting messages (notifications.waiting: withdrawn
once paid, the amount left, the language, the address) leaves it alone, and applies again to a retry. A transient
failure is retried with exponential backoff from the database; after NOTIFY_MAX_ATTEMPTS, or on a permanent failure,
the message is `failed`. A process that dies mid-send leaves its claim to expire and be taken again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session, sessionmaker

from jeshkit.db import autocommit
from notifications import service
from notifications.channels import Channel, Outgoing, PermanentFailure, TransientFailure
from notifications.links import TOKEN_MARK
from notifications.models import BookingFacts, ScheduledNotice
from notifications.quiet import NO_QUIET_HOURS, QuietHours
from notifications.service import Policy
from notifications.texts import as_html

log = logging.getLogger("notifications.delivery")


@dataclass(frozen=True)
class Retry:
    max_attempts: int
    base_seconds: float
    max_seconds: float
    lease_seconds: float

    def backoff(self, attempts: int) -> float:
        return float(min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds))


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    attempts: int
    template: str


_CLAIM = text(
    """
    UPDATE notifications SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => :lease)
    WHERE id IN (
        SELECT id FROM notifications
        WHERE status = 'queued' AND next_attempt_at <= now()
        ORDER BY next_attempt_at, id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, channel, attempts, template
    """
)


# A password reset link's token is kept only while the email may still go: once it is sent or failed for good, the
# stored body keeps the link without its token (links.py).
_SCRUB = (f"body = CASE WHEN strpos(body, '{TOKEN_MARK}') > 0 "
          f"THEN regexp_replace(body, '{TOKEN_MARK}\\S+', '{TOKEN_MARK}', 'g') ELSE body END")
_SENT = text(
    "UPDATE notifications SET status = 'sent', sent_at = now(), provider_id = :provider_id, last_error = NULL, "
    f"sending_until = NULL, {_SCRUB} WHERE id = :id AND status = 'queued'"
)
_FAILED = text(
    "UPDATE notifications SET status = 'failed', last_error = :error, sending_until = NULL, "
    f"{_SCRUB} WHERE id = :id AND status = 'queued'"
)
_RETRY = text(
    "UPDATE notifications SET last_error = :error, next_attempt_at = now() + make_interval(secs => :delay), "
    "sending_until = NULL WHERE id = :id AND status = 'queued'"
)


_ANY_DUE = text("SELECT 1 FROM scheduled_notices WHERE due_at <= now() LIMIT 1")
# Claimed at the round's start, a message may have been settled since (its customer erased: cancelled, its address
# and text gone), or claimed again by another replica once this round outlasted its lease (a slow provider: a round
# of NOTIFY_SEND_BATCH_SIZE messages may take longer than the lease): looked at again just before it goes, and
# leased anew from now, in one statement, so that no other replica takes it while it is on its way. In the same
# round trip, a reminder on a channel its customer has turned off is withdrawn (set_preferences deletes only those
# never tried: one being sent cannot be taken back). This lease marks it on its way (`sending_until`): nothing changes
# it until its outcome is recorded (notifications.waiting). A reminder waiting for its retry may have changed since the
# claim (the amount left, the language, the address): it goes as it is now.
_STILL_TO_SEND = text(
    """
    WITH withdrawn AS (
        UPDATE notifications n SET status = 'failed', last_error = 'withdrawn: the customer turned this channel off'
        WHERE n.id = :id AND n.status = 'queued' AND n.attempts = :attempts AND n.template = ANY(:reminders)
        AND EXISTS (
            SELECT 1 FROM recipients r
            WHERE r.user_id = n.user_id AND NOT CASE n.channel WHEN 'sms' THEN r.sms_enabled ELSE r.email_enabled END
        )
        RETURNING n.id
    )
    UPDATE notifications SET next_attempt_at = now() + make_interval(secs => :lease),
        sending_until = now() + make_interval(secs => :lease)
    WHERE id = :id AND status = 'queued' AND attempts = :attempts AND NOT EXISTS (SELECT 1 FROM withdrawn)
    RETURNING "to", subject, body
    """
)
_REMINDERS = sorted(service.REMINDERS)
# A reminder claimed in the quiet hours (a retry: reminders are queued outside them) waits for their end, the claim's
# attempt given back.
_AFTER_QUIET_HOURS = text(
    "UPDATE notifications SET next_attempt_at = :until, attempts = attempts - 1 "
    "WHERE id = :id AND status = 'queued' AND attempts = :attempts"
)


def _claim(connection: Connection, *, limit: int, lease_seconds: float) -> list[Claimed]:
    rows = connection.execute(_CLAIM, {"limit": limit, "lease": lease_seconds}).all()
    return [Claimed(*row) for row in sorted(rows)]


def send_due(session_factory: sessionmaker[Session], *, channels: Mapping[str, Channel], retry: Retry,
             batch_size: int, quiet_hours: QuietHours = NO_QUIET_HOURS) -> int:
    """One round of the sender: claim, then send each message and record its outcome at once (one statement, its
    own transaction, none open while a message is on its way). The channels keep their connections for the round
    (one SMTP conversation for all its e-mails) and close them at its end. Returns how many were claimed."""
    # Each statement its own transaction: they stand alone, and none is open while a message is on its way.
    with session_factory() as session, autocommit(session) as connection:
        claimed = _claim(connection, limit=batch_size, lease_seconds=retry.lease_seconds)
        try:
            for message in claimed:
                _send(connection, channels[message.channel], message, retry, quiet_hours)
        finally:
            for channel in channels.values():
                channel.close()
    return len(claimed)


def _send(connection: Connection, channel: Channel, message: Claimed, retry: Retry, quiet_hours: QuietHours) -> None:
    if message.template in service.REMINDERS:
        now = datetime.now(UTC)
        until = quiet_hours.next_allowed(now)
        if until > now:
            connection.execute(_AFTER_QUIET_HOURS, {"id": message.id, "until": until, "attempts": message.attempts})
            log.info("%s reminder %s waits for the end of the quiet hours", message.channel, message.id,
                     extra={"notification_id": message.id})
            return
    still = {"id": message.id, "attempts": message.attempts, "reminders": _REMINDERS, "lease": retry.lease_seconds}
    now_is = connection.execute(_STILL_TO_SEND, still).first()
    if now_is is None:
        log.info("%s message %s was settled, withdrawn or claimed again meanwhile: not sent by this round",
                 message.channel, message.id, extra={"notification_id": message.id})
        return
    to, subject, body = now_is
    outgoing = Outgoing(to=to, subject=subject, body=body, html=as_html(body) if message.channel == "email" else None)
    try:
        provider_id = channel.send(outgoing)
    except PermanentFailure as exc:
        _record_failure(connection, message, str(exc), retry=None)
    except TransientFailure as exc:
        _record_failure(connection, message, str(exc), retry=retry)
    except Exception as exc:  # a bug in a channel must not lose the message: retry it
        log.exception("channel %s crashed on message %s", message.channel, message.id)
        _record_failure(connection, message, f"unexpected: {exc!r}", retry=retry)
    else:
        connection.execute(_SENT, {"id": message.id, "provider_id": provider_id})
        log.info("sent %s message %s", message.channel, message.id, extra={"notification_id": message.id})


def _record_failure(connection: Connection, message: Claimed, error: str, *, retry: Retry | None) -> None:
    final = retry is None or message.attempts >= retry.max_attempts
    if final:
        connection.execute(_FAILED, {"id": message.id, "error": error[:500]})
    else:
        assert retry is not None
        connection.execute(_RETRY, {"id": message.id, "error": error[:500], "delay": retry.backoff(message.attempts)})
    log.warning("%s message %s %s: %s", message.channel, message.id,
                "failed for good" if final else f"will be retried (attempt {message.attempts})", error,
                extra={"notification_id": message.id})


def run_schedule(session_factory: sessionmaker[Session], *, policy: Policy, batch_size: int = 50) -> int:
    """Turn due scheduled notices into messages (or drop those the booking's fate made pointless)."""
    # Most rounds find nothing: one round trip, no transaction.
    with session_factory() as session, autocommit(session) as connection:
        if connection.execute(_ANY_DUE).first() is None:
            return 0
    now = datetime.now(UTC)
    with session_factory() as session:
        due = session.scalars(
            select(ScheduledNotice)
            .where(ScheduledNotice.due_at <= now)
            .order_by(ScheduledNotice.due_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        for notice in due:
            # Handlers lock the booking's facts before its notices; here it is the other way round, so a facts
            # row a handler holds is skipped (next round) rather than waited for (which could deadlock).
            facts = session.scalars(
                select(BookingFacts).where(BookingFacts.booking_id == notice.booking_id)
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if facts is None and session.get(BookingFacts, notice.booking_id) is not None:
                continue
            if facts is None or facts.cancelled:
                session.delete(notice)
            elif notice.kind == "receipt_wait":
                service.announce_confirmed(session=session, policy=policy, facts=facts)
            elif facts.confirmed or facts.hold_expires_at is None or facts.hold_expires_at <= now:
                session.delete(notice)
            elif policy.quiet_hours.contains(now):
                # Not in the middle of the night; by the morning the hold has usually ended, and then nothing goes.
                notice.due_at = policy.quiet_hours.next_allowed(now)
            else:
                service.notify(
                    session=session, policy=policy, user_id=facts.user_id, template="hold_expiring",
                    source_key=notice.source_key,
                    values={"booking_id": facts.booking_id, "amount": facts.total_price or 0,
                            "expires": facts.hold_expires_at},
                )
                session.delete(notice)
        session.commit()
        return len(due)

