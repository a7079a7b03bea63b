"""Batches from a durable JetStream pull consumer, each handed over the moment its first message is there.

nats-py's `fetch(n)` holds the first message until n have arrived or the timeout passes, so the consumer used to
fetch one message per round trip. This keeps one pull request for up to `batch` messages open on the server
(JetStream's own API: `$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>`, replies to our inbox); the server delivers
each message as it is stored, and `next_batch()` returns the first one together with whatever else has arrived
meanwhile, without waiting for more. Messages are acknowledged by the caller (`msg.ack()` etc. as usual).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import nats.errors
from nats.js.api import Header

log = logging.getLogger("jeshkit.pull")

HEARTBEAT = "100"  # idle heartbeat / flow control: no message, the request stays open
NO_MESSAGES = "404"
REQUEST_TIMEOUT = "408"  # the pull request expired (or was used up)
CONFLICT = "409"  # e.g. exceeded max waiting, consumer deleted, leadership change
NO_RESPONDERS = "503"  # nobody serves the request's subject: the consumer (or its stream) does not exist


class ConsumerGone(ConnectionError):
    """The durable consumer is gone (deleted, or its stream lost with NATS's store): asking again would only be
    answered the same way, at once, for ever. The caller subscribes again, which declares it anew."""


class PullBatches:
    """One open pull request of up to `batch` messages, renewed when used up or expired."""

    def __init__(self, nc: Any, *, stream: str, durable: str, batch: int = 64, expires: float = 2.0) -> None:
        self._nc = nc
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self.batch = batch
        self.expires = expires
        self._sub: Any = None
        self._open = 0  # messages the open request may still deliver
        self._expires_at = 0.0

    async def start(self) -> None:
        self._inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(self._inbox)

    async def stop(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # noqa: BLE001 - the connection is gone already
                pass
            self._sub = None

    async def _request(self) -> None:
        request = {"batch": self.batch, "expires": int(self.expires * 1_000_000_000)}
        await self._nc.publish(self._next_subject, json.dumps(request).encode(), reply=self._inbox)
        self._open = self.batch
        self._expires_at = time.monotonic() + self.expires

    async def next_batch(self) -> list[Any]:
        """The next messages (at least one); an empty list when the request expired with nothing for us."""
        if self._open <= 0 or time.monotonic() >= self._expires_at:
            await self._request()
        try:
            # A little past the expiry: the server's 408 normally comes first and closes the request.
            first = await self._sub.next_msg(timeout=max(self._expires_at - time.monotonic(), 0.0) + 0.5)
        except nats.errors.TimeoutError:
            self._open = 0
            return []
        batch: list[Any] = []
        msg: Any = first
        while True:
            status = (msg.headers or {}).get(Header.STATUS) if not msg.data else None
            if status is None:
                self._open -= 1
                batch.append(msg)
            elif status != HEARTBEAT:  # 404 / 408 / 409: this request is over
                description = str((msg.headers or {}).get(Header.DESCRIPTION) or "")
                if status == NO_RESPONDERS or (status == CONFLICT and "consumer deleted" in description.lower()):
                    self._open = 0
                    raise ConsumerGone(f"the durable consumer is gone ({status} {description})".strip())
                if status == CONFLICT:
                    log.warning("pull request ended: %s %s", status, description)
                self._open = 0
            if len(batch) >= self.batch or self._sub.pending_msgs == 0:
                return batch
            msg = await self._sub.next_msg(timeout=1.0)  # already here: returns at once
