"""A customer's erasure (CustomerErased), the part every service shares: the events that carried the person's name,
contact details or a secret sent to them (the event models marked `personal`) leave this service's outbox and its
parked messages. Each service's CustomerErased handler calls `forget_personal_events` beside its own scrubbing; auth
calls it when it erases the account. The JetStream stream keeps the events it holds until EVENTS_MAX_AGE_SECONDS."""

from __future__ import annotations

from typing import cast

from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

from jeshkit.events import EVENT_TYPES

_FORGET_OUTBOX = text(
    "DELETE FROM outbox WHERE type = ANY(:types) AND payload -> 'data' ->> 'user_id' = :user_id"
)
# A parked message is kept as the text received (it may not even be JSON): its type is the subject's last part.
_FORGET_PARKED = text(
    "DELETE FROM dead_letter WHERE substring(subject from '[^.]+$') = ANY(:types) AND payload ~ :mentions"
)


def personal_event_types() -> list[str]:
    return sorted({model.event_type for model in EVENT_TYPES.values() if model.personal})


def forget_personal_events(session: Session, *, user_id: int) -> int:
    """Delete the outbox rows (sent or not) and the parked messages of the personal event types about `user_id`, in
    the caller's transaction (never commits); how many rows went."""
    types = personal_event_types()
    outbox = session.execute(_FORGET_OUTBOX, {"types": types, "user_id": str(user_id)})
    parked = session.execute(_FORGET_PARKED, {"types": types, "mentions": f'"user_id"\\s*:\\s*{user_id}([^0-9]|$)'})
    return cast(CursorResult[object], outbox).rowcount + cast(CursorResult[object], parked).rowcount
