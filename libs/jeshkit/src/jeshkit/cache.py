"""A process-local cache of serialized answers that every replica drops the moment any replica commits a change.

Writers call `notify(session, channel)` in the transaction that changes what the cached answers show;
PostgreSQL delivers the NOTIFY at commit to every replica's listener, which empties its cache. While a
replica is not listening (database away, reconnecting) it serves nothing from cache. Entries also carry
their own validity (e.g. until the next hold expires) and a ceiling `max_age`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable, MutableMapping
from typing import Any

from sqlalchemy import Engine

from jeshkit.pglisten import PgListener
from jeshkit.tasks import raise_if_cancelling


class ResponseCache:
    max_entries = 256

    def __init__(self, engine: Engine, channel: str, *, max_age: float = 10.0) -> None:
        self.channel = channel
        self.max_age = max_age
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self._generation = 0
        self._listener = PgListener(engine, channel, self.invalidate)

    @property
    def generation(self) -> int:
        """Read before computing an answer; put() drops the answer if a change came in meanwhile."""
        return self._generation

    def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()

    def get(self, key: Hashable) -> bytes | None:
        if not self._listener.connected:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: Hashable, body: bytes, *, generation: int, valid_for: float) -> None:
        if generation != self._generation or not self._listener.connected or valid_for <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + min(valid_for, self.max_age), body)

    async def run(self) -> None:
        """Keep listening; after a reconnection, anything may have changed unheard: start empty."""
        while True:
            raise_if_cancelling()
            was_connected = self._listener.connected
            if await self._listener.ensure() and not was_connected:
                self.invalidate()
            await asyncio.sleep(1.0)

    def close(self) -> None:
        self._listener.close()


def request_key(scope: MutableMapping[str, Any]) -> tuple[str, bytes]:
    """What a cached answer is keyed by: the path and the raw query string (answers must depend on nothing else)."""
    return scope["path"], scope.get("query_string", b"")


class CachedGetMiddleware:
    """Serves a GET whose answer is in the app's ResponseCache before routing: no dependency resolution, no
    thread hop. Routes put their answers under request_key(request.scope)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            cache: ResponseCache | None = getattr(scope["app"].state, "response_cache", None)
            body = cache.get(request_key(scope)) if cache is not None else None
            if body is not None:
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
