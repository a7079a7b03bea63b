"""Waiting, right after a commit, until the service that follows it has applied what it published.

The stream brings a service the events it consumes a moment after their commit: where the contract says "at once"
(a unit booked or cancelled shows so in the very next GET /api/units; an admin's new price counts for the very next
booking) that moment must pass before the request answers. So every consumer *announces* the ids of the events each
of its commits applied (or found applied before: its inbox), as one plain NATS message on
`<prefix>-applied.<consumer>` (outside the stream's subjects, never stored), after the replica that applied them ran
its `after_applied` (inventory forgets its cached unit lists). A process that waits for a service follows its
announcements (`follows=` of jeshkit.app.create_app), and a request, after its commit (no transaction open), waits
for the ids of the events of the kinds that service consumes (`wait`). Best effort: past TIMEOUT_SECONDS (the
service's consumer away or far behind) the request answers anyway, logged, and the stream still brings the events.
The service is then *behind*: until it announces anything (its consumer is at work again: requests wait again, so a
read right after them is fresh once it has caught up), or BEHIND_SECONDS have passed, requests do not wait for it at
all. Otherwise every request would hold its worker thread a full second while the other service's consumer is down,
and a few dozen a second would take all of a process's threads.

This replaced *telling* the events to the service (an HTTP endpoint, then a NATS request) that applied them in a
transaction of its own beside the stream's: every event was applied twice (once, and once found in the inbox) and
one transaction per booking could not be shared with other bookings', which cost about a third of a booking's CPU
(issue 18's bench). Now the consumer applies each event once, in its batches.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from jeshkit.events.base import EventData
from jeshkit.outbox import committed, subject_for

log = logging.getLogger("jeshkit.applied")

TIMEOUT_SECONDS = 1.0  # past this the request answers anyway: the stream brings the events
BEHIND_SECONDS = 30.0  # after a wait ran out, the longest requests go without waiting (unless it catches up sooner)


def subject(prefix: str, consumer: str) -> str:
    """Where `consumer` announces what it applied (not under `<prefix>.>`, the stream's subjects)."""
    return f"{prefix}-applied.{consumer}"


def body(event_ids: Iterable[str]) -> bytes:
    return json.dumps(list(event_ids)).encode()


def wait(request: Any, session: Session, service: str, kinds: Iterable[type[EventData]]) -> bool:
    """In a request, right after its commit: wait until `service` has applied the events of these `kinds` (those it
    consumes) that the commit published. True when it has; False, logged, when it has not within TIMEOUT_SECONDS."""
    prefix = session.info.get("subject_prefix", "jesh.events")
    subjects = {subject_for(prefix, kind.event_type) for kind in kinds}
    ids = [row.id for row in committed(session) if row.subject in subjects]
    return bool(request.app.state.messaging.wait_applied(service, ids))


class Announcements:
    """What this process hears a followed service announce: the ids it applied lately (an announcement may come
    before the request that waits for it starts waiting) and the requests waiting. Used on the event loop only."""

    remembered = 5_000  # ids kept (about 1 MB): many seconds of announcements at the bench's pace

    def __init__(self) -> None:
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        self._behind_until = 0.0  # time.monotonic() until which requests do not wait, unless it announces meanwhile

    @property
    def behind(self) -> bool:
        """A wait ran out lately and the service has announced nothing since: requests do not wait."""
        return time.monotonic() < self._behind_until

    def heard(self, raw: bytes) -> None:
        try:
            ids = json.loads(raw)
        except ValueError:
            log.warning("an announcement that is not JSON: %r", raw[:100])
            return
        if not isinstance(ids, list):
            return
        if ids:
            self._behind_until = 0.0  # its consumer is at work: requests wait for it again
        for event_id in ids:
            event_id = str(event_id)
            self._recent[event_id] = None
            for future in self._waiting.pop(event_id, ()):
                if not future.done():
                    future.set_result(None)
        while len(self._recent) > self.remembered:
            self._recent.popitem(last=False)

    async def wait(self, ids: Iterable[str]) -> bool:
        """True once every id has been announced. False at once, without waiting, while the service is behind (and
        not every id has been announced). Raises TimeoutError past TIMEOUT_SECONDS: the service is behind from then
        on, until it announces anything or BEHIND_SECONDS have passed."""
        loop = asyncio.get_running_loop()
        missing = [event_id for event_id in dict.fromkeys(ids) if event_id not in self._recent]
        if not missing:
            return True
        if self.behind:
            return False
        futures: dict[str, asyncio.Future[None]] = {}
        for event_id in missing:
            futures[event_id] = loop.create_future()
            self._waiting.setdefault(event_id, []).append(futures[event_id])
        try:
            await asyncio.wait_for(asyncio.gather(*futures.values()), TIMEOUT_SECONDS)
        except TimeoutError:
            self._behind_until = time.monotonic() + BEHIND_SECONDS
            raise
        finally:
            for event_id, future in futures.items():
                waiting = self._waiting.get(event_id)
                if waiting is not None and future in waiting:
                    waiting.remove(future)
                    if not waiting:
                        del self._waiting[event_id]
        return True
