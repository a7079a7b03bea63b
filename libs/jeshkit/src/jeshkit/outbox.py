"""Integration events, the transactional outbox and the relay that sends it to JetStream.

`stage(session, SomeEvent(...))` writes the event in the caller's transaction; a trigger on the outbox
NOTIFYs the relay, which PostgreSQL delivers only if that transaction commits. The relay claims unsent rows with
`FOR UPDATE SKIP LOCKED` (several replicas share the work), publishes each with `Nats-Msg-Id` =
event id, and marks a row sent only after JetStream's PubAck; a periodic sweep picks up anything a lost NOTIFY
left behind. When NATS is away the relay backs off and every row waits. A row that fails for a reason of its own
(e.g. too large) does not hold up the rows behind it: it is retried in the next rounds and, after
`outbox_max_attempts`, moved to dead_letter (consumer "outbox"), where an admin can see and replay it.
Rows are published oldest first, but no order is guaranteed to consumers (a retried row goes out after later
ones, and replicas publish in parallel): handlers must not depend on the order of events.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import nats
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from jeshkit.logs import current_request_id
from jeshkit.pglisten import PgListener
from jeshkit.tasks import in_thread, raise_if_cancelling
from jeshkit.tracing import traceparent

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
            "INSERT INTO outbox (id, type, version, subject, payload, request_id, traceparent) "
            "VALUES (:id, :type, :version, :subject, CAST(:payload AS jsonb), :request_id, :traceparent)"
        ),
        {
            "id": envelope.id,
            "type": envelope.type,
            "version": envelope.version,
            "subject": subject_for(session.info.get("subject_prefix", "jesh.events"), envelope.type),
            "payload": json.dumps(envelope.to_dict()),
            "request_id": current_request_id(),
            "traceparent": traceparent(),  # the trace goes on in the consumers (a NATS header)
        },
    )
    return envelope  # the outbox's trigger NOTIFYs the relay (jeshkit.migrations)


# Failures that are NATS being away or slow (every row would fail alike): stop the round, back off.
NATS_AWAY: tuple[type[BaseException], ...] = (
    TimeoutError,
    ConnectionError,
    OSError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionDrainingError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoRespondersError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.errors.TimeoutError,
    nats.js.errors.NoStreamResponseError,
)

OUTBOX_CONSUMER = "outbox"  # dead_letter.consumer of rows the relay could not publish


class OutboxRelay:
    """Sends every unsent outbox row to JetStream, marking each sent once acknowledged."""

    batch_size = 200
    # A safety net only: a lost LISTEN connection wakes the relay itself (it listens again, then sweeps), so this
    # covers a connection that died silently. Every sweep costs each replica a thread hop and a transaction.
    sweep_interval = 5.0
    max_backoff = 10.0

    def __init__(self, engine: Engine, messaging: Any, *, max_attempts: int = 5) -> None:
        self._engine = engine
        self._messaging = messaging  # jeshkit.messaging.Messaging: gives the current JetStream context
        self.max_attempts = max_attempts
        self._wakeup = asyncio.Event()
        self._retry_now = asyncio.Event()  # NATS is back: end the backoff at once
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
                self._retry_now.clear()
                try:
                    await asyncio.wait_for(self._retry_now.wait(), timeout=backoff)
                except TimeoutError:
                    pass
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
        failures: list[tuple[str, str]] = []
        away: str | None = None
        try:
            # The whole batch goes out in one flush; the PubAcks are then awaited together.
            outcomes = await asyncio.gather(*(self._publish(js, row) for row in rows), return_exceptions=True)
            for row, outcome in zip(rows, outcomes, strict=True):
                if outcome is None:
                    sent.append(str(row.id))
                elif isinstance(outcome, NATS_AWAY):  # NATS itself: back off, the attempt is not the row's fault
                    away = away or f"{type(outcome).__name__}: {outcome}"
                    failures.append((str(row.id), f"{type(outcome).__name__}: {outcome}"))
                elif isinstance(outcome, Exception):  # this row's own problem: noted, the others go on
                    log.error("outbox row %s (%s) cannot be published: %s", row.id, row.subject, outcome)
                    failures.append((str(row.id), f"{type(outcome).__name__}: {outcome}"))
                else:  # cancelled: rows published but not marked go out again (JetStream drops the duplicate)
                    raise outcome
        finally:
            await in_thread(self._mark_and_close, conn, sent, failures, away is None)
        if away is not None:
            raise ConnectionError(away)
        return len(sent), len(rows) == self.batch_size

    async def _publish(self, js: Any, row: Any) -> None:
        headers = {"Nats-Msg-Id": str(row.id)}
        if row.request_id:
            headers["X-Request-Id"] = row.request_id
        if row.traceparent:
            headers["traceparent"] = row.traceparent
        await js.publish(row.subject, row.payload.encode(), headers=headers, timeout=2)

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
            self._mark_and_close(conn, [], [], False)

    def _mark_and_close(self, conn: Any, sent: list[str], failures: list[tuple[str, str]], count: bool) -> None:
        try:
            self._mark(conn, sent, failures, count)
        finally:
            conn.close()

    def _claim(self, conn: Any) -> list[Any]:
        return list(
            conn.execute(
                text(
                    "SELECT id, subject, payload::text AS payload, request_id, traceparent FROM outbox "
                    "WHERE sent_at IS NULL "
                    "ORDER BY created_at, id LIMIT :limit FOR UPDATE SKIP LOCKED"
                ),
                {"limit": self.batch_size},
            )
        )

    def _mark(self, conn: Any, sent: list[str], failures: list[tuple[str, str]], count: bool) -> None:
        """Mark sent rows; note failures (counted only when NATS itself was fine); park rows out of attempts."""
        if sent:
            conn.execute(
                text("UPDATE outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": sent},
            )
        for row_id, error in failures:
            conn.execute(
                text("UPDATE outbox SET attempts = attempts + :step, last_error = :error WHERE id = :id"),
                {"id": row_id, "error": error[:500], "step": 1 if count else 0},
            )
        if failures and count:
            parked = conn.execute(
                text(
                    "WITH gone AS (DELETE FROM outbox WHERE id = ANY(CAST(:ids AS uuid[])) AND sent_at IS NULL "
                    "AND attempts >= :max RETURNING id, subject, payload, last_error, attempts) "
                    "INSERT INTO dead_letter (consumer, event_id, subject, payload, error, deliveries) "
                    "SELECT :consumer, id, subject, payload::text, coalesce(last_error, ''), attempts FROM gone "
                    "RETURNING event_id"
                ),
                {"ids": [row_id for row_id, _ in failures], "max": self.max_attempts, "consumer": OUTBOX_CONSUMER},
            ).scalars().all()
            for event_id in parked:
                log.error("outbox row %s parked in dead_letter after %d attempts", event_id, self.max_attempts)
        conn.commit()

    def wake(self) -> None:
        """Look for unsent rows now (e.g. NATS is back), also in the middle of a backoff."""
        self._retry_now.set()
        self._wakeup.set()

    def close(self) -> None:
        self._listener.close()
