"""Nothing grows forever: the job that prunes the messaging tables (every service runs it; it is idempotent)."""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session, sessionmaker

from jeshkit.settings import ServiceSettings

log = logging.getLogger("jeshkit.retention")

BATCH = 5000

# (table, what is old enough to go, which retention applies)
PRUNED = (
    ("outbox", "sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => :keep)", "messaging"),
    ("inbox", "processed_at < now() - make_interval(secs => :keep)", "messaging"),
    ("dead_letter", "created_at < now() - make_interval(secs => :keep)", "dead_letter"),
)


def prune_messaging(session_factory: sessionmaker[Session], settings: ServiceSettings) -> dict[str, int]:
    """Delete sent outbox rows and inbox rows older than MESSAGING_RETENTION_DAYS and parked messages older than
    DEAD_LETTER_RETENTION_DAYS, in small batches (short transactions). Returns how many rows went per table."""
    keep = {
        "messaging": settings.messaging_retention_days * 86400,
        "dead_letter": settings.dead_letter_retention_days * 86400,
    }
    removed: dict[str, int] = {}
    for table, old, retention in PRUNED:
        total = 0
        while True:
            with session_factory() as session:
                result = session.execute(
                    text(f"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {old} LIMIT :batch)"),
                    {"keep": keep[retention], "batch": BATCH},
                )
                count = cast(CursorResult[Any], result).rowcount
                session.commit()
            total += count
            if count < BATCH:
                break
        removed[table] = total
    if any(removed.values()):
        log.info("pruned messaging tables: %s", ", ".join(f"{t} {n}" for t, n in removed.items()))
    return removed
