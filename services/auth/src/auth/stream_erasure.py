"""After an erasure, the person's personal events leave the JetStream stream too (jeshkit.stream_erasure): a periodic
job, shared by every replica, works through `stream_erasures` (a row written with each erasure, auth.erasure).

Each round claims the due rows with FOR UPDATE SKIP LOCKED, leasing them (`due_at` moves past the lease) in one
statement that commits; then, with no transaction open, deletes the person's messages from the stream; then deletes
the row. NATS away or a failure: the row is tried again once its lease is over, for as long as it takes (deleting
twice is harmless); a process that dies mid-round leaves its claim to expire.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from sqlalchemy import delete, text
from sqlalchemy.orm import Session, sessionmaker

from auth.models import StreamErasure
from jeshkit.messaging import Messaging
from jeshkit.settings import ServiceSettings
from jeshkit.stream_erasure import erase_from_stream

log = logging.getLogger("auth.stream_erasure")

_CLAIM = text("""
    UPDATE stream_erasures SET due_at = now() + make_interval(secs => :lease), attempts = attempts + 1
    WHERE user_id IN (SELECT user_id FROM stream_erasures WHERE due_at <= now()
                      ORDER BY due_at LIMIT :most FOR UPDATE SKIP LOCKED)
    RETURNING user_id
""")


def erase_from_stream_job(
    session_factory: sessionmaker[Session], *, messaging: Messaging, settings: ServiceSettings,
    lease: timedelta = timedelta(minutes=5), most: int = 20,
) -> int:
    """One round; how many erased accounts' events were deleted from the stream."""
    with session_factory() as session:
        claimed = [int(user_id) for user_id in session.scalars(
            _CLAIM, {"lease": lease.total_seconds(), "most": most})]
        session.commit()
    done = 0
    for user_id in claimed:
        try:
            deleted = messaging.run_from_thread(partial(
                erase_from_stream, stream=settings.events_stream, prefix=settings.events_subject_prefix,
                user_id=user_id), timeout=lease.total_seconds() / 2)
        except Exception as exc:  # noqa: BLE001 - NATS away or slow: tried again once the lease is over
            log.warning("the events of erased account %s stay in the stream for now: %s", user_id, exc)
            continue
        with session_factory() as session:
            session.execute(delete(StreamErasure).where(StreamErasure.user_id == user_id))
            session.commit()
        done += 1
        log.info("%d personal events of erased account %s deleted from the stream", deleted, user_id,
                 extra={"user_id": user_id})
    return done
