"""The relay that sends the outbox to JetStream.

What a process's commits staged (jeshkit.outbox) is published at once, from its event loop (`Nats-Msg-Id` = event
id), and marked sent once JetStream's PubAck is in, several acknowledged rows in one statement.

A periodic sweep is the safety net: it claims rows still unsent a moment after their commit (the process died
before publishing, NATS was away, the mark failed) for `claim_seconds`, in one committed statement (`SKIP LOCKED`:
several replicas share the work, and no transaction stays open while the rows are published), publishes them, and
marks them; a row it sends again is dropped by JetStream's duplicate window. When NATS is away the relay
backs off and every row waits; NATS coming back wakes it. A row that fails for a reason of its own (e.g. too large)
does not hold up the rows behind it: it is retried in the next rounds and, after `outbox_max_attempts`, moved to
dead_letter (consumer "outbox"), where an admin can see and replay it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import nats
from sqlalchemy import Engine, text

from jeshkit.consumer import describe_failure
from jeshkit.outbox import OutboxRow
from jeshkit.tasks import in_thread, raise_if_cancelling

log = logging.getLogger("jeshkit.relay")


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
    # JetStream's own 503: temporarily unavailable, or a stream that stores nothing more now (full, discard=new).
    # Waiting is right; parking every row for an operator is not.
    nats.js.errors.ServiceUnavailableError,
)

OUTBOX_CONSUMER = "outbox"  # dead_letter.consumer of rows the relay could not publish
# Rows acknowledged by JetStream, marked sent (one published at commit may have been swept and marked meanwhile).
_MARK_SENT = text(
    "UPDATE outbox SET sent_at = now(), attempts = attempts + 1 "
    "WHERE id = ANY(CAST(:ids AS uuid[])) AND sent_at IS NULL"
)


# The sweep's claim: unsent rows old enough and not claimed by another sweep (or whose claim has run out: that
# relay died), taken for `claim` seconds. SKIP LOCKED lets replicas claiming at the same moment take different rows.
_CLAIM = text(
    "UPDATE outbox SET claimed_until = clock_timestamp() + make_interval(secs => :claim) WHERE id IN ("
    "SELECT id FROM outbox WHERE sent_at IS NULL "
    "AND created_at <= clock_timestamp() - make_interval(secs => :min_age) "
    "AND (claimed_until IS NULL OR claimed_until <= clock_timestamp()) "
    "ORDER BY created_at, id LIMIT :limit FOR UPDATE SKIP LOCKED) "
    "RETURNING id, subject, payload::text AS payload, request_id, traceparent, created_at"
)
_RELEASE = text("UPDATE outbox SET claimed_until = NULL WHERE id = ANY(CAST(:ids AS uuid[])) AND sent_at IS NULL")


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
    # How long a sweep's claim keeps other sweeps off its rows: a batch's publishes time out after 2 s (together),
    # so it is settled long before; the rows of a relay that died with them are swept again after it.
    claim_seconds = 30.0

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
        self._started = time.monotonic()

    async def run(self) -> None:
        backoff = 0.2
        # The first sweep takes every unsent row written before this relay started (left by a process that died or
        # lost NATS); those written since are this process's own, on their way since their commit.
        min_age: float | None = None
        while True:
            raise_if_cancelling()
            try:
                _, more = await self.relay_once(time.monotonic() - self._started if min_age is None else min_age)
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
        ones. Returns (sent, more). The claim is a statement of its own, committed: no transaction and no row lock
        is held while the batch is on its way."""
        js = self._messaging.jetstream()
        if js is None:
            raise ConnectionError("NATS not connected")
        rows = await in_thread(self._claim, min_age, discard=self._release)
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
                elif isinstance(outcome, Exception):
                    if isinstance(outcome, NATS_AWAY):  # NATS itself: back off, the attempt is not the row's fault
                        away = away or describe_failure(outcome)
                    else:  # this row's own problem: noted, the others go on
                        log.error("outbox row %s (%s) cannot be published: %s", row.id, row.subject, outcome)
                    failures.append((str(row.id), describe_failure(outcome)))
                else:  # cancelled: rows published but not marked go out again (JetStream drops the duplicate)
                    raise outcome
        finally:
            # Cancelled half-way, the rows neither sent nor failed are given back for the next sweep.
            unsettled = {str(row.id) for row in rows} - set(sent) - {row_id for row_id, _ in failures}
            await in_thread(self._settle, sent, failures, away is None, sorted(unsettled))
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

    def _claim(self, min_age: float) -> list[Any]:
        with self._engine.begin() as conn:
            rows = conn.execute(_CLAIM, {"limit": self.batch_size, "min_age": min_age, "claim": self.claim_seconds})
            return sorted(rows, key=lambda row: (row.created_at, str(row.id)))

    def _release(self, rows: list[Any]) -> None:
        """Give back a claim nobody will publish (the relay was stopped)."""
        self._settle([], [], False, [str(row.id) for row in rows])

    def _settle(self, sent: list[str], failures: list[tuple[str, str]], count: bool, unsettled: list[str]) -> None:
        """Mark sent rows; note failures (counted only when NATS itself was fine) and give them back with the
        unsettled ones for the next sweep; park rows out of attempts. One short transaction, after the publishing."""
        with self._engine.begin() as conn:
            if sent:
                conn.execute(_MARK_SENT, {"ids": sent})
            for row_id, error in failures:
                conn.execute(
                    text("UPDATE outbox SET attempts = attempts + :step, last_error = :error, claimed_until = NULL "
                         "WHERE id = :id AND sent_at IS NULL"),
                    {"id": row_id, "error": error[:500], "step": 1 if count else 0},
                )
            if unsettled:
                conn.execute(_RELEASE, {"ids": unsettled})
            if failures and count:
                parked = conn.execute(
                    text(
                        "WITH gone AS (DELETE FROM outbox WHERE id = ANY(CAST(:ids AS uuid[])) AND sent_at IS NULL "
                        "AND attempts >= :max RETURNING id, subject, payload, last_error, attempts) "
                        "INSERT INTO dead_letter (consumer, event_id, subject, payload, error, deliveries) "
                        "SELECT :consumer, id, subject, payload::text, coalesce(last_error, ''), attempts FROM gone "
                        "RETURNING event_id"
                    ),
                    {"ids": [row_id for row_id, _ in failures], "max": self.max_attempts,
                     "consumer": OUTBOX_CONSUMER},
                ).scalars().all()
                for event_id in parked:
                    log.error("outbox row %s parked in dead_letter after %d attempts", event_id, self.max_attempts)

    def wake(self) -> None:
        """Look for unsent rows now (e.g. NATS is back), also in the middle of a backoff."""
        self._retry_now.set()
        self._wakeup.set()

