"""Parked messages: an admin lists them and replays one (`GET/POST <api prefix>/admin/dead-letters`).

A message is parked in `dead_letter` by the consumer (data breaking its contract, no handler for its version,
an unknown reference, a bug past CONSUMER_MAX_DELIVERIES, a transient failure past CONSUMER_RETRY_SECONDS) or
by the relay (an outbox row it could not publish, consumer "outbox"). Replaying a consumed message applies it
now, through the same handler and inbox, in one transaction that also removes it from dead_letter; replaying an
outbox row puts it back in the outbox. A replay that fails leaves the message parked, with the new error (409).
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from jeshkit import audit
from jeshkit.audit import Actor
from jeshkit.consumer import apply_once, describe_failure, handler_table
from jeshkit.db import SessionDep
from jeshkit.errors import Conflict, NotFound
from jeshkit.events.base import without_secrets
from jeshkit.outbox import Event, OutboxRow, publish_on_commit
from jeshkit.relay import OUTBOX_CONSUMER
from jeshkit.schemas import ERROR_RESPONSES, Envelope, UtcTimestamp
from jeshkit.security import AdminUser

log = logging.getLogger("jeshkit.deadletters")

MAX_ID = 2**63 - 1
PAYLOAD_SHOWN = 10_000  # characters of a payload a list shows


class DeadLetterOut(BaseModel):
    id: int
    consumer: str
    event_id: str | None
    event_type: str
    subject: str
    error: str
    deliveries: int
    created_at: UtcTimestamp
    payload: str


class ReplayOut(BaseModel):
    id: int
    event_id: str | None
    outcome: Literal["applied", "duplicate", "requeued"]


def dead_letter_router(api_prefix: str) -> APIRouter:
    router = APIRouter(prefix=f"{api_prefix}/admin/dead-letters", tags=["admin"], responses=ERROR_RESPONSES)

    @router.get("", response_model=Envelope[list[DeadLetterOut]], summary="Parked messages (admin)")
    def list_dead_letters(
        _: AdminUser, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> Envelope[list[DeadLetterOut]]:
        """Newest first: what could not be applied (or published), why, and how often it was tried."""
        rows = session.execute(
            text("SELECT id, consumer, event_id, subject, payload, error, deliveries, created_at FROM dead_letter "
                 "ORDER BY id DESC LIMIT :limit"),
            {"limit": limit},
        ).all()
        return Envelope(data=[
            DeadLetterOut(
                id=row.id,
                consumer=row.consumer,
                event_id=str(row.event_id) if row.event_id else None,
                event_type=row.subject.rsplit(".", 1)[-1],
                subject=row.subject,
                error=row.error,
                deliveries=row.deliveries,
                created_at=row.created_at,
                payload=without_secrets(row.payload)[:PAYLOAD_SHOWN],
            )
            for row in rows
        ])

    @router.post("/{letter_id}/replay", response_model=Envelope[ReplayOut], summary="Replay a parked message (admin)")
    def replay_dead_letter(
        letter_id: Annotated[int, Path(ge=1, le=MAX_ID)], admin: AdminUser, request: Request
    ) -> Envelope[ReplayOut]:
        """Apply the message now (or, for an outbox row, send it again); 409 with the reason when it still fails."""
        state = request.app.state
        return Envelope(data=replay(state.session_factory, state.settings.service_name, state.event_handlers,
                                    letter_id, actor=admin))

    return router


def replay(session_factory: sessionmaker[Session], consumer: str, handlers: Any, letter_id: int, *,
           actor: Actor | None = None) -> ReplayOut:
    table = handler_table(handlers or {})
    with session_factory() as session:
        row = session.execute(
            text("SELECT id, consumer, event_id, subject, payload FROM dead_letter WHERE id = :id FOR UPDATE"),
            {"id": letter_id},
        ).first()
        if row is None:
            raise NotFound("Parked message not found")
        event_id = str(row.event_id) if row.event_id else None
        outcome: Literal["applied", "duplicate", "requeued"]
        if row.consumer == OUTBOX_CONSUMER:
            outcome = _requeue(session, row)
        else:
            try:
                event = Event.from_dict(json.loads(row.payload))
            except ValueError:
                raise Conflict("This message is not an event; it cannot be replayed") from None
            found = table.get((event.type, event.version))
            if found is None:
                raise Conflict(f"No handler for {event.type} v{event.version}; it cannot be replayed")
            model, handler = found
            savepoint = session.begin_nested()
            try:
                applied = apply_once(session, consumer, event, model.parse(event.data), handler)
                savepoint.commit()
            except Exception as exc:  # noqa: BLE001 - stays parked, with what went wrong this time
                savepoint.rollback()
                reason = describe_failure(exc)
                session.execute(
                    text("UPDATE dead_letter SET error = :error, deliveries = deliveries + 1 WHERE id = :id"),
                    {"id": letter_id, "error": f"replay: {reason}"[:2000]},
                )
                session.commit()
                raise Conflict(f"Replay failed: {reason}"[:500]) from None
            outcome = "applied" if applied else "duplicate"
        session.execute(text("DELETE FROM dead_letter WHERE id = :id"), {"id": letter_id})
        if actor is not None:
            audit.record(session, actor, "dead_letter.replayed", f"dead_letter:{letter_id}",
                         {"event_id": event_id, "consumer": row.consumer, "outcome": outcome})
        session.commit()
    log.warning("parked message %s (%s) replayed: %s", letter_id, event_id, outcome)
    return ReplayOut(id=letter_id, event_id=event_id, outcome=outcome)


def _requeue(session: Session, row: Any) -> Literal["requeued"]:
    payload = json.loads(row.payload)
    session.execute(
        text("INSERT INTO outbox (id, type, version, subject, payload) "
             "VALUES (:id, :type, :version, :subject, CAST(:payload AS jsonb)) ON CONFLICT (id) DO NOTHING"),
        {"id": str(row.event_id), "type": str(payload.get("type", "")), "version": int(payload.get("version", 1)),
         "subject": row.subject, "payload": row.payload},
    )
    publish_on_commit(session, OutboxRow(id=str(row.event_id), subject=row.subject, payload=row.payload))
    return "requeued"
