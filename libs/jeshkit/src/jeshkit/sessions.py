"""Access tokens of ended sessions, refused by every process of every service within moments.

Access tokens are checked by signature alone and live minutes. When auth ends every session of an account (its
password changed, an admin signed it out everywhere or made an admin a customer), it publishes `SessionsEnded
{user_id, before}`. Every process (each replica, API and worker alike) must know, so none uses its service's durable
consumer (which hands each event to one replica only). Each process instead
- subscribes to the subject on its NATS connection (a plain subscription: a message published to the stream's subject
  reaches it too, and nats-py subscribes again by itself after a reconnect), and
- catches up from the stream, with a short-lived consumer of its own reading every SessionsEnded the stream holds:
  once started (so a process started after the event knows it) and after every reconnect (what was published while
  it was away). Applying an event twice changes nothing.
The TokenVerifier then refuses a token of that account issued (`iat`) before `before`, both to the millisecond (auth
mints `iat` with its fraction): the new session auth starts at that very moment is kept.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from jeshkit.events import EventDataError, SessionsEnded
from jeshkit.outbox import Event, subject_for
from jeshkit.stream_read import stream_messages

log = logging.getLogger("jeshkit.sessions")

# Longer than any access token lives (auth's ACCESS_TOKEN_TTL_SECONDS, 15 minutes by default).
FOLLOW_BACK = timedelta(days=1)


class EndedSessions:
    """Per account, the millisecond before which its access tokens are refused."""

    def __init__(self) -> None:
        self._before: dict[int, int] = {}

    def end(self, user_id: int, before: datetime) -> None:
        moment = round(before.timestamp() * 1000)
        horizon = round((time.time() - FOLLOW_BACK.total_seconds()) * 1000)
        if moment < horizon:
            return  # every token issued before it has expired
        if moment > self._before.get(user_id, 0):
            self._before[user_id] = moment
        if len(self._before) > 10_000:  # forget what no living token can be older than
            self._before = {user: at for user, at in self._before.items() if at > horizon}

    def ended(self, user_id: int, issued_at_ms: int) -> bool:
        before = self._before.get(user_id)
        return before is not None and issued_at_ms < before


class SessionsFollower:
    """One process's follower of SessionsEnded (see the module's docstring)."""

    def __init__(self, nc: Any, js: Any, prefix: str, ended: EndedSessions) -> None:
        self._nc = nc
        self._js = js
        self._subject = subject_for(prefix, SessionsEnded.event_type)
        self._ended = ended

    async def start(self) -> None:
        await self._nc.subscribe(self._subject, cb=self._on_message)  # first: nothing falls between the two
        await self.catch_up()

    async def _on_message(self, msg: Any) -> None:
        apply_message(msg.data, self._ended)

    async def catch_up(self) -> None:
        """Apply every SessionsEnded the stream holds (a failure is logged: the next reconnect tries again)."""
        try:
            async for msg in stream_messages(self._js, self._subject):
                apply_message(msg.data, self._ended)
        except Exception as exc:  # noqa: BLE001 - NATS away or the stream not there yet: the live subscription stays
            log.warning("catching up on ended sessions failed: %s", exc)


def apply_message(payload: bytes, ended: EndedSessions) -> None:
    """One message of the subject: a SessionsEnded v1 envelope (anything else is logged and ignored)."""
    try:
        event = Event.from_dict(json.loads(payload))
        if (event.type, event.version) != (SessionsEnded.event_type, SessionsEnded.version):
            raise ValueError(f"{event.type} v{event.version} is not SessionsEnded v1")
        data = SessionsEnded.parse(event.data)
    except (ValueError, EventDataError) as exc:  # json.JSONDecodeError and EventDataError are ValueErrors
        log.error("a message on the ended sessions' subject was ignored: %s", exc)
        return
    assert isinstance(data, SessionsEnded)
    ended.end(data.user_id, data.before)
