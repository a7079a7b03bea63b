"""An erased customer's personal events leave the JetStream stream as well (Kenya's DPA s.40), not only the services'
tables (jeshkit.erasure): the stream otherwise keeps each event for EVENTS_MAX_AGE_SECONDS.

`erase_from_stream` reads every message the stream holds on the subjects of the personal event types (the models
marked `personal`: names, contact details, a secret sent to the person) with a short-lived consumer of its own, and
deletes each one about the person (`data.user_id`). JetStream's delete overwrites the stored message with random
data (no `no_erase`), so it cannot be read back from the server's files either. A durable consumer that had not been
handed a deleted message yet skips it: the person is erased, nothing is lost that is still needed. Auth runs it
after each erasure (auth.stream_erasure), with no database transaction open.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from jeshkit.erasure import personal_event_types
from jeshkit.outbox import subject_for

log = logging.getLogger("jeshkit.stream_erasure")


def _about(payload: bytes, user_id: int) -> bool:
    try:
        data = json.loads(payload).get("data")
        return isinstance(data, dict) and data.get("user_id") == user_id
    except (ValueError, AttributeError):
        return False  # not an event of ours: nothing to say about anyone


async def erase_from_stream(js: Any, *, stream: str, prefix: str, user_id: int) -> int:
    """Delete from `stream` every message of a personal event type about `user_id`; how many went. Raises when
    NATS cannot answer (the caller tries again later: deleting twice is harmless)."""
    erased = 0
    for event_type in personal_event_types():
        sub = await js.pull_subscribe(subject_for(prefix, event_type), stream=stream, config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=60, mem_storage=True,
        ))
        try:
            pending = (await sub.consumer_info()).num_pending
            while pending:
                try:
                    messages = await sub.fetch(min(pending, 256), timeout=1)
                except nats.errors.TimeoutError:
                    break  # nothing (more) on this subject
                for msg in messages:
                    if _about(msg.data, user_id):
                        await js.delete_msg(stream, msg.metadata.sequence.stream)
                        erased += 1
                pending = messages[-1].metadata.num_pending
        finally:
            await sub.unsubscribe()
    return erased
