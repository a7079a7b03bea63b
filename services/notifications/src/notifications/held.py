"""Messages held for a user whose contact details are not known yet (no UserRegistered heard: registered before
this service was deployed, the event aged out of the stream or was parked).

A reaction to an event runs inside the consumer's transaction and may not ask auth; so instead of dropping the
message it holds the template and its values here (one row per source_key: a redelivered event holds nothing
new), and contacts.py asks auth later, with no transaction open, and queues the message as it would have been.
The values are JSON: dates, times and phrases are tagged so that they come back as they were given.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications.models import HeldMessage
from notifications.texts import Phrase

log = logging.getLogger("notifications.held")

_HELD = cast(Table, HeldMessage.__table__)
_HOLD = (
    insert(_HELD)
    .values({key: bindparam(key) for key in ("user_id", "source_key", "template", "params")})
    .on_conflict_do_nothing(constraint="uq_held_messages_source_key")
)


def hold(session: Session, *, user_id: int, template: str, source_key: str, values: Mapping[str, Any]) -> None:
    """Keep a message until the user's contact details are known (in the caller's transaction)."""
    session.execute(_HOLD, {"user_id": user_id, "source_key": source_key, "template": template,
                            "params": encode(values)})
    log.warning("no contact details for user %s yet: %s held until auth tells them", user_id, template,
                extra={"user_id": user_id, "template": template})


def encode(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _encode(value) for key, value in values.items()}


def decode(params: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _decode(value) for key, value in params.items()}


def _encode(value: Any) -> Any:
    if isinstance(value, Phrase):
        return {"phrase": [value.table, value.key]}
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {"time": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"a message value of type {type(value).__name__} cannot be held")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "phrase" in value:
            return Phrase(*value["phrase"])
        if "time" in value:
            return datetime.fromisoformat(value["time"])
        if "date" in value:
            return date.fromisoformat(value["date"])
    return value
