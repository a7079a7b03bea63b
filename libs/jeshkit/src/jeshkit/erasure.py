"""A customer's erasure (CustomerErased), the part every service shares: the events that carried the person's name,
contact details or a secret sent to them (the event models marked `personal`) leave this service's outbox and its
parked messages. Each service's CustomerErased handler calls `forget_personal_events` beside its own scrubbing; auth
calls it when it erases the account. The JetStream stream keeps the events it holds until EVENTS_MAX_AGE_SECONDS.

Also shared: the placeholder name of an erased customer, and the internal route through which booking, payments,
billing and transport tell auth what they still need a person for (`holds_router`)."""

from __future__ import annotations

from typing import Annotated, Protocol, cast

from fastapi import APIRouter, Path
from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

from jeshkit.db import SessionDep
from jeshkit.events import EVENT_TYPES
from jeshkit.events.base import MAX_ID
from jeshkit.internal import Hold, UserHolds
from jeshkit.schemas import Envelope

ERASED_NAME = "Erased customer"  # what an erased customer is called where a name is required (auth, billing)

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


class FindsHolds(Protocol):
    def __call__(self, *, session: Session, user_id: int) -> list[Hold]: ...


def holds_router(find: FindsHolds) -> APIRouter:
    """`GET /internal/users/{user_id}/holds` (jeshkit.internal.UserHolds), answered by the service's `find`: what it
    still needs the person for, asked by auth before an erasure (an unknown user has none). Never in the OpenAPI."""
    router = APIRouter(prefix="/internal/users", include_in_schema=False)

    @router.get("/{user_id}/holds")
    def user_holds(user_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep) -> Envelope[UserHolds]:
        return Envelope(data=UserHolds(holds=find(session=session, user_id=user_id)))

    return router
