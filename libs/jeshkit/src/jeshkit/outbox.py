"""Integration events, the transactional outbox and the relay that sends it to JetStream.

`stage(session, SomeEvent(...))` writes the event in the caller's transaction. When that transaction commits, the
process that committed publishes its events at once, from its event loop (`Nats-Msg-Id` = event id), and marks
them sent once JetStream's PubAck is in, several acknowledged rows in one statement: no NOTIFY, no claim and no
thread hop between a commit and its publication. A row staged in a savepoint that was rolled back, or in a
transaction that did not commit, is never published.

A periodic sweep is the safety net: it claims rows still unsent a moment after their commit (the process died
before publishing, NATS was away, the mark failed) with `FOR UPDATE SKIP LOCKED` (several replicas share the work)
and publishes them; a row it sends again is dropped by JetStream's duplicate window. When NATS is away the relay
backs off and every row waits; NATS coming back wakes it. A row that fails for a reason of its own (e.g. too large)
does not hold up the rows behind it: it is retried in the next rounds and, after `outbox_max_attempts`, moved to
dead_letter (consumer "outbox"), where an admin can see and replay it.
No order is guaranteed to consumers (replicas publish in parallel and a retried row goes out after later ones):
handlers must not depend on the order of events.
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
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from jeshkit.logs import current_request_id
from jeshkit.tasks import in_thread, raise_if_cancelling
from jeshkit.tracing import traceparent

if TYPE_CHECKING:
    from jeshkit.events.base import EventData

log = logging.getLogger("jeshkit.outbox")


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
    row = OutboxRow(
        id=envelope.id,
        subject=subject_for(session.info.get("subject_prefix", "jesh.events"), envelope.type),
        payload=json.dumps(envelope.to_dict()),
        request_id=current_request_id(),
        traceparent=traceparent(),  # the trace goes on in the consumers (a NATS header)
    )
    session.execute(
        _INSERT,
        {"type": envelope.type, "version": envelope.version, **row.__dict__},
    )
    publish_on_commit(session, row)
    return envelope


_INSERT = text(
    "INSERT INTO outbox (id, type, version, subject, payload, request_id, traceparent) "
    "VALUES (:id, :type, :version, :subject, CAST(:payload AS jsonb), :request_id, :traceparent)"
)


@dataclass(frozen=True)
class OutboxRow:
    """What publishing an outbox row takes (a claimed row has the same attributes)."""

    id: str
    subject: str
    payload: str
    request_id: str | None = None
    traceparent: str | None = None


# session.info keys: the process's relay (set by jeshkit.messaging in every process), and the rows the session's
# open transaction has written, each with the (nested) transaction that wrote it.
RELAY = "jeshkit.outbox.relay"
_PENDING = "jeshkit.outbox.pending"


def publish_on_commit(session: Session, row: OutboxRow) -> None:
    """Have the process publish an outbox row the session just wrote as soon as its transaction commits (nothing
    when this process runs no relay: the sweep of a process that does sends it)."""
    if session.info.get(RELAY) is None:
        return
    written_in = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((written_in, row))


@sa_event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    if _PENDING not in session.info or session.get_nested_transaction() is not None:
        return  # nothing staged, or a savepoint released: its rows are still the outer transaction's
    pending = session.info.pop(_PENDING)
    if pending:
        try:
            session.info[RELAY].publish_committed([row for _, row in pending])
        except Exception:  # the commit stands whatever happens here: the sweep sends the rows
            log.exception("could not hand %d committed outbox rows to the relay", len(pending))


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Rows written in the transaction (or savepoint) rolled back, or in one nested in it, are never published."""
    pending = session.info.get(_PENDING)
    if not pending:
        return

    def inside(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    session.info[_PENDING] = [(written_in, row) for written_in, row in pending if not inside(written_in)]


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without after_commit having taken its rows (closed or rolled back)."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


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
# Rows acknowledged by JetStream, marked sent (one published at commit may have been swept and marked meanwhile).
_MARK_SENT = text(
    "UPDATE outbox SET sent_at = now(), attempts = attempts + 1 "
    "WHERE id = ANY(CAST(:ids AS uuid[])) AND sent_at IS NULL"
)


class OutboxRelay:
    """Publishes what this process's commits staged, at once, and sweeps up every row still unsent a moment after
    its commit; each row is marked sent once acknowledged."""

    batch_size = 200
    # The safety net's period: rows are normally published by the process that committed them within milliseconds,
    # so the sweep only finds rows whose process died or whose publication failed. Each sweep costs each replica a
    # thread hop and a transaction.
    sweep_interval = 5.0
    # A periodic sweep leaves rows younger than this to the process publishing them (sending them twice is harmless,
    # JetStream drops the duplicate, but it is work for nothing).
    in_flight_seconds = 1.0
    # Rows published at commit are marked sent this long after the first of them was acknowledged, together.
    mark_delay = 0.05
    max_backoff = 10.0

    def __init__(self, engine: Engine, messaging: Any, *, max_attempts: int = 5) -> None:
        self._engine = engine
        self._messaging = messaging  # jeshkit.messaging.Messaging: gives the current JetStream context
        self.max_attempts = max_attempts
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._retry_now = asyncio.Event()  # NATS is back: end the backoff at once
        self._publishing: set[asyncio.Task[None]] = set()
        self._acked: list[str] = []  # published at once and acknowledged, to be marked sent
        self._marking: asyncio.Task[None] | None = None

    async def run(self) -> None:
        backoff = 0.2
        min_age = 0.0  # the first sweep takes every unsent row: nothing of this process is in flight yet
        while True:
            raise_if_cancelling()
            try:
                _, more = await self.relay_once(min_age)
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
                min_age = 0.0  # woken (NATS is back): every row waiting
            except TimeoutError:
                min_age = self.in_flight_seconds

    # --- publication at commit ------------------------------------------------------------------
    def publish_committed(self, rows: list[OutboxRow]) -> None:
        """Called in the thread that committed: the rows go out from the event loop, no transaction open."""
        try:
            self._loop.call_soon_threadsafe(self._start_publishing, rows)
        except RuntimeError:  # the loop has closed (shutting down): the next sweep, anywhere, sends them
            pass

    def _start_publishing(self, rows: list[OutboxRow]) -> None:
        task = self._loop.create_task(self._publish_now(rows))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _publish_now(self, rows: list[OutboxRow]) -> None:
        js = self._messaging.jetstream()
        if js is None:
            return  # NATS away: the sweep sends them when it is back
        outcomes = await asyncio.gather(*(self._publish(js, row) for row in rows), return_exceptions=True)
        for row, outcome in zip(rows, outcomes, strict=True):
            if outcome is None:
                self._acked.append(row.id)
            elif isinstance(outcome, Exception):  # left unsent: the sweep retries, counts and parks it
                log.info("outbox row %s not published at commit (the sweep retries it): %s", row.id, outcome)
            else:
                raise outcome
        if self._acked and (self._marking is None or self._marking.done()):
            self._marking = self._loop.create_task(self._mark_acked())

    async def _mark_acked(self) -> None:
        """Mark what was acknowledged meanwhile, one statement for all of it, until nothing is left. Nobody waits for
        the mark (the consumers have the events already), so it waits a little to take more rows at once."""
        while self._acked:
            await asyncio.sleep(self.mark_delay)
            ids, self._acked = self._acked, []
            try:
                await in_thread(self._mark_sent, ids)
            except Exception as exc:  # noqa: BLE001 - left unsent: sent again by a sweep, dropped by JetStream
                log.warning("could not mark %d published outbox rows sent: %s", len(ids), exc)

    def _mark_sent(self, ids: list[str]) -> None:
        with self._engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(_MARK_SENT, {"ids": ids})

    async def stop_publishing(self) -> None:
        """Let what is being published at commit finish (bounded), then stop: what is left, a sweep sends."""
        tasks = [*self._publishing, *([self._marking] if self._marking else [])]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)

    # --- the sweep --------------------------------------------------------------------------------
    async def relay_once(self, min_age: float = 0.0) -> tuple[int, bool]:
        """Claim a batch of rows unsent `min_age` seconds after they were written, publish them, mark the acknowledged
        ones. Returns (sent, more)."""
        js = self._messaging.jetstream()
        if js is None:
            raise ConnectionError("NATS not connected")
        # One thread hop to claim, one to mark and release: each hop costs latency on a busy machine.
        conn, rows = await in_thread(self._connect_and_claim, min_age, discard=self._release_claim)
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

    async def _publish(self, js: Any, row: OutboxRow | Any) -> None:
        headers = {"Nats-Msg-Id": str(row.id)}
        if row.request_id:
            headers["X-Request-Id"] = row.request_id
        if row.traceparent:
            headers["traceparent"] = row.traceparent
        await js.publish(row.subject, row.payload.encode(), headers=headers, timeout=2)

    def _connect_and_claim(self, min_age: float) -> tuple[Any, list[Any]]:
        conn = self._engine.connect()
        try:
            rows = self._claim(conn, min_age)
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

    def _claim(self, conn: Any, min_age: float) -> list[Any]:
        return list(
            conn.execute(
                text(
                    "SELECT id, subject, payload::text AS payload, request_id, traceparent FROM outbox "
                    "WHERE sent_at IS NULL AND created_at <= clock_timestamp() - make_interval(secs => :min_age) "
                    "ORDER BY created_at, id LIMIT :limit FOR UPDATE SKIP LOCKED"
                ),
                {"limit": self.batch_size, "min_age": min_age},
            )
        )

    def _mark(self, conn: Any, sent: list[str], failures: list[tuple[str, str]], count: bool) -> None:
        """Mark sent rows; note failures (counted only when NATS itself was fine); park rows out of attempts."""
        if sent:
            conn.execute(_MARK_SENT, {"ids": sent})  # claimed: unsent, and locked by this transaction
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

