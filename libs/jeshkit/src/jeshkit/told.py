"""Events told at once, beside the stream.

The stream brings a service the events it consumes a moment after their commit: too late where the contract says
"at once" (a unit booked or cancelled shows so in the very next GET /api/units; an admin's new price counts for the
very next booking). So a request whose commit must be followed at once also *tells* the service that follows it,
right after that commit (no transaction open): the events the commit kept, as a NATS request on
`<prefix>-told.<service>` (outside the stream's subjects, so never stored), answered when they are applied. One
replica of that service (a queue group) applies them with its consumer's own handlers and inbox, in one
transaction: whichever copy comes second, the told one or the stream's, finds the inbox row and changes nothing.
Best effort: a service away, slow or refusing is logged, and the request answers anyway (the stream still brings
the events).

This replaced an HTTP endpoint per pair of services: a NATS request skips the HTTP client, the web framework and a
second apply of every event, which made a booking cost twice the CPU (issue 18's bench).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jeshkit.consumer import Handler, NotHeardOfYet, begin_for_handlers, check_handler, end_handlers, first_seen
from jeshkit.events.base import EventData
from jeshkit.outbox import Event, committed

log = logging.getLogger("jeshkit.told")

TIMEOUT_SECONDS = 1.0  # past this the request answers anyway: the stream brings the events


def tell(request: Any, session: Session, service: str) -> bool:
    """In a request, right after its commit: tell `service` the events that commit kept, and wait until it applied
    them (the process's Messaging.tell). True when it did; False, logged, when it could not be told."""
    return bool(request.app.state.messaging.tell(service, committed(session)))


def subject(prefix: str, service: str) -> str:
    """Where `service` listens for events told to it (not under `<prefix>.>`, the stream's subjects)."""
    return f"{prefix}-told.{service}"


def body(payloads: list[str]) -> bytes:
    """The request: the committed envelopes (JSON text, as published) as one JSON list."""
    return ("[" + ",".join(payloads) + "]").encode()


def apply(
    session_factory: sessionmaker[Session],
    consumer: str,
    table: dict[tuple[str, int], tuple[type[EventData], Handler]],
    raw: bytes,
) -> int:
    """Apply the told events this service consumes (`table`, its consumer's), each once (the consumer's inbox), in
    one transaction; an event of a kind it does not consume is passed over. How many were applied (0 when a handler
    has not heard yet of what an event refers to: NotHeardOfYet, nothing kept, the stream's copy is retried).
    ValueError, nothing applied, for a body that is not a list of well-formed events."""
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(items, list):
        raise ValueError("not a list of events")
    ready: list[tuple[Event, EventData, Handler]] = []
    for item in items:
        event = Event.from_dict(item)
        found = table.get((event.type, event.version))
        if found is not None:
            model, handler = found
            ready.append((event, model.parse(event.data), handler))
    if not ready:
        return 0
    with session_factory() as session:
        applied = 0
        transaction = begin_for_handlers(session)
        new = first_seen(session, consumer, [event.id for event, _, _ in ready])
        try:
            for event, data, handler in ready:
                if event.id in new:
                    new.discard(event.id)  # the same event twice: applied once
                    handler(session, data, event)
                    check_handler(session, transaction, event)
                    applied += 1
        except NotHeardOfYet as exc:
            session.rollback()
            log.info("told events left to the stream: %s", exc)
            return 0
        end_handlers(session)
        session.commit()
    return applied


def answer(outcome: int | Exception) -> bytes:
    """The reply: {"applied": n}, or {"error": why} (nothing applied)."""
    reply: dict[str, Any] = (
        {"applied": outcome} if isinstance(outcome, int) else {"error": str(outcome)[:300] or type(outcome).__name__}
    )
    return json.dumps(reply).encode()
