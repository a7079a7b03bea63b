"""An erased customer's personal events leave the JetStream stream as well (Kenya's DPA s.40), not only the services'
tables (jeshkit.erasure): the stream otherwise keeps each event for EVENTS_MAX_AGE_SECONDS.

`erase_from_stream` reads every message the stream holds on the subjects of the personal event types (the models
marked `personal`: names, contact details, a secret sent to the person; jeshkit.stream_read) and deletes each one
about the person (`data.user_id`). JetStream's delete overwrites the stored message with random data (no
`no_erase`), so it cannot be read back from the server's files either. A durable consumer that had not been handed a
deleted message yet skips it: the person is erased, nothing is lost that is still needed. Auth runs it after each
erasure (auth.stream_erasure), with no database transaction open.
"""

from __future__ import annotations

import json
from typing import Any

from jeshkit.erasure import personal_event_types
from jeshkit.outbox import subject_for
from jeshkit.stream_read import stream_messages


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
        async for msg in stream_messages(js, subject_for(prefix, event_type), stream=stream):
            if _about(msg.data, user_id):
                await js.delete_msg(stream, msg.metadata.sequence.stream)
                erased += 1
    return erased
