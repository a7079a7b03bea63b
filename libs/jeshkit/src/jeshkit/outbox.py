"""Integration events, the transactional outbox and the relay that sends it to JetStream.

`stage(session, type, data)` writes the event in the caller's transaction; a trigger on the outbox
NOTIFYs the relay, which PostgreSQL delivers only if that transaction commits. The relay claims unsent rows with
`FOR UPDATE SKIP LOCKED` (several replicas share the work), publishes each with `Nats-Msg-Id` =
event id, and marks a row sent only after JetStream's PubAck. A row whose publish failed stays
unsent and is retried with backoff; a periodic sweep picks up anything a lost NOTIFY left behind.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from jeshkit.logs import current_request_id
from jeshkit.pglisten import PgListener
from jeshkit.tasks import in_thread, raise_if_cancelling

if TYPE_CHECKING:
    from jeshkit.events.base import EventData

log = logging.getLogger("jeshkit.outbox")

NOTIFY_CHANNEL = "jesh_outbox"


@dataclass(frozen=True)
class Event:
    """The contract's envelope: {id, type, version, occurred_at, source, data}."""

    id: str
    type: str
    version: int
    occurred_at: str
    source: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at,
            "source": self.source,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Event:
        if not isinstance(raw, dict):
            raise ValueError("event is not a JSON object")
        try:
            event = cls(
                id=str(uuid.UUID(str(raw["id"]))),
                type=str(raw["type"]),
                version=int(raw["version"]),
                occurred_at=str(raw["occurred_at"]),
                source=str(raw["source"]),
                data=raw["data"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed event envelope: {exc}") from exc
        if not isinstance(event.data, dict):
            raise ValueError("event data is not a JSON object")
        return event


def subject_for(prefix: str, event_type: str) -> str:
    return f"{prefix}.{event_type}"


def stage(
    session: Session, event: EventData | str, data: dict[str, Any] | None = None, *, version: int = 1
) -> Event:
    """Write an event into the outbox inside the caller's transaction (sent iff the transaction commits).

    `stage(session, PaymentSucceeded(...))`: type, version and source come from the model (jeshkit.events).
    The older `stage(session, "PaymentSucceeded", {...})` is checked against the same model, so neither form
    can publish data its contract refuses (EventDataError).
    """
    from jeshkit.events.base import EventData, EventDataError, model_for

    if isinstance(event, EventData):
        model: EventData = event
    else:
        model_class = model_for(event, version)
        if model_class is None:
            raise EventDataError(f"no event model for {event} v{version} (add it to jeshkit.events)")
        model = model_class.parse(data if data is not None else {})
    envelope = Event(
        id=str(uuid.uuid4()),
        type=model.event_type,
        version=model.version,
        occurred_at=datetime.now(UTC).isoformat(),
        source=session.info.get("service", "unknown"),
        data=model.to_data(),
    )
    session.execute(
        text(
            "INSERT INTO outbox (id, type, version, subject, payload, request_id) "
            "VALUES (:id, :type, :version, :subject, CAST(:payload AS jsonb), :request_id)"
        ),
        {
            "id": envelope.id,
            "type": envelope.type,
            "version": envelope.version,
            "subject": subject_for(session.info.get("subject_prefix", "jesh.events"), envelope.type),
            "payload": json.dumps(envelope.to_dict()),
            "request_id": current_request_id(),
        },
    )
    return envelope  # the outbox's trigger NOTIFYs the relay (jeshkit.migrations)


class OutboxRelay:
    """Sends every unsent outbox row to JetStream, once acknowledged, in order of creation."""

    batch_size = 200
    sweep_interval = 1.0  # safety net for a NOTIFY lost while the listener reconnected
    max_backoff = 10.0

    def __init__(self, engine: Engine, messaging: Any) -> None:
        self._engine = engine
        self._messaging = messaging  # jeshkit.messaging.Messaging: gives the current JetStream context
        self._wakeup = asyncio.Event()
        # Wakes the relay within milliseconds of a commit that staged events.
        self._listener = PgListener(engine, NOTIFY_CHANNEL, self._wakeup.set)

    async def run(self) -> None:
        backoff = 0.2
        while True:
            raise_if_cancelling()
            await self._listener.ensure()
            try:
                _, more = await self.relay_once()
                backoff = 0.2
            except Exception as exc:  # noqa: BLE001 - any failure: keep rows, retry later
                log.warning("outbox relay failed, will retry: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if more:
                continue
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.sweep_interval)
            except TimeoutError:
                pass

    async def relay_once(self) -> tuple[int, bool]:
        """Claim a batch of unsent rows, publish them, mark the acknowledged ones. Returns (sent, more)."""
        js = self._messaging.jetstream()
        if js is None:
            raise ConnectionError("NATS not connected")
        # One thread hop to claim, one to mark and release: each hop costs latency on a busy machine.
        conn, rows = await in_thread(self._connect_and_claim, discard=self._release_claim)
        if not rows:
            return 0, False
        sent: list[str] = []
        error: str | None = None
        failure: tuple[str, str] | None = None
        try:
            for row in rows:
                headers = {"Nats-Msg-Id": str(row.id)}
                if row.request_id:
                    headers["X-Request-Id"] = row.request_id
                try:
                    await js.publish(row.subject, json.dumps(row.payload).encode(), headers=headers, timeout=2)
                except Exception as exc:  # noqa: BLE001 - stop at the first failure to keep order
                    error = f"{type(exc).__name__}: {exc}"
                    failure = (str(row.id), error)
                    break
                sent.append(str(row.id))
        finally:
            await in_thread(self._mark_and_close, conn, sent, failure)
        if error is not None:
            raise ConnectionError(error)
        return len(sent), len(rows) == self.batch_size

    def _connect_and_claim(self) -> tuple[Any, list[Any]]:
        conn = self._engine.connect()
        try:
            rows = self._claim(conn)
        except BaseException:
            conn.close()
            raise
        if not rows:
            conn.rollback()
            conn.close()
        return conn, rows

    def _release_claim(self, claimed: tuple[Any, list[Any]]) -> None:
        """Give back a claim nobody will publish (the relay was stopped): end its transaction, close."""
        conn, rows = claimed
        if rows:
            self._mark_and_close(conn, [], None)

    def _mark_and_close(self, conn: Any, sent: list[str], failure: tuple[str, str] | None) -> None:
        try:
            self._mark(conn, sent, failure)
        finally:
            conn.close()

    def _claim(self, conn: Any) -> list[Any]:
        return list(
            conn.execute(
                text(
                    "SELECT id, subject, payload, request_id FROM outbox WHERE sent_at IS NULL "
                    "ORDER BY created_at, id LIMIT :limit FOR UPDATE SKIP LOCKED"
                ),
                {"limit": self.batch_size},
            )
        )

    @staticmethod
    def _mark(conn: Any, sent: list[str], failure: tuple[str, str] | None) -> None:
        if sent:
            conn.execute(
                text("UPDATE outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": sent},
            )
        if failure:
            conn.execute(
                text("UPDATE outbox SET attempts = attempts + 1, last_error = :error WHERE id = :id"),
                {"id": failure[0], "error": failure[1][:500]},
            )
        conn.commit()

    def close(self) -> None:
        self._listener.close()
