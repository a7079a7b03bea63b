"""Reading what the JetStream stream holds on a subject, once, from its first message: the ended sessions' catch-up
(jeshkit.sessions) and the erasure of a person's events (jeshkit.stream_erasure)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


async def stream_messages(js: Any, subject: str, *, stream: str | None = None,
                          batch: int = 256) -> AsyncIterator[Any]:
    """Every message the stream holds on `subject`, oldest first, read with a short-lived consumer of the caller's
    own (no acks, in memory, dropped by the server a minute after its last use). Raises when NATS cannot answer."""
    sub = await js.pull_subscribe(subject, stream=stream, config=ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=60, mem_storage=True,
    ))
    try:
        pending = (await sub.consumer_info()).num_pending
        while pending:
            try:
                messages = await sub.fetch(min(pending, batch), timeout=1)
            except nats.errors.TimeoutError:
                return  # nothing more after all (the messages expired or were deleted meanwhile)
            for msg in messages:
                yield msg
            pending = messages[-1].metadata.num_pending
    finally:
        await sub.unsubscribe()
