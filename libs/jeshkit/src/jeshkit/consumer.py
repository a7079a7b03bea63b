"""Idempotent JetStream consumer: an inbox row per event in the transaction that applies it, ack after commit.

Messages that arrive together are applied in one transaction: one statement writes their inbox rows, then each new
event's handler runs, and every ack follows the commit. When anything in the batch fails, the whole transaction is
rolled back and each message is handled by itself, as if it had come alone (a failure is rare; a savepoint per event
would cost two round trips each time).

The transactions run on the event loop itself, with a connection of their own whose lock and statement timeouts are
short (LOOP_LOCK_TIMEOUT_MS, LOOP_STATEMENT_TIMEOUT_MS): no hop to a worker thread and back for each message, which
measured about a tenth of a flow's CPU and 2 ms of delivery's p99 under load (README, tenth pass). A transaction
that would wait longer (a row another transaction holds, a slow statement) is rolled back and run again in a worker
thread with the service's own bounds, so the loop never waits long, nor for a lock whose holder needs the loop; the
connection is opened in a thread too (PostgreSQL away: connect_timeout)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from jeshkit.errors import AppError
from jeshkit.events.base import EventData, EventDataError
from jeshkit.logs import request_id_var
from jeshkit.outbox import Event, subject_for
from jeshkit.pull import PullBatches
from jeshkit.tasks import raise_if_cancelling
from jeshkit.tracing import consuming

log = logging.getLogger("jeshkit.consumer")
T = TypeVar("T")

# How long a consumer's transaction may keep the event loop waiting: for a lock, and for one statement. Past either,
# PostgreSQL ends the statement (lock_not_available, query_canceled) and the transaction is run again in a thread.
LOOP_LOCK_TIMEOUT_MS = 50
LOOP_STATEMENT_TIMEOUT_MS = 250
_WAITED_TOO_LONG = frozenset({"55P03", "57014"})


class PoisonEvent(Exception):
    """Raised by a handler for an event that cannot be applied as it is: it is parked in dead_letter at once
    (an admin can replay it) instead of being retried."""


class UnknownReference(PoisonEvent):
    """The event refers to something this service does not know (e.g. a payment for an unknown booking)."""


class NotHeardOfYet(Exception):
    """The event refers to something this service hears of by an earlier event it has not applied yet (that one is
    being retried: events out of order). Not poison: it is tried again with the growing delay, bounded by count
    (consumer_max_deliveries, about a minute), so the usual case sorts itself out; then it is parked like any
    failure, for an admin to replay."""


def describe_failure(exc: BaseException) -> str:
    """What a parked message's or an unpublished outbox row's error says (an admin reads it in the console): the
    event's own fault as it is, any other failure with its kind, e.g. "UnknownReference: payment 12 succeeded for
    unknown booking 40"."""
    if isinstance(exc, EventDataError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    """Failures that say nothing about the message (the database or a peer away or busy, a lock conflict, a
    timeout): retried for as long as consumer_retry_seconds allows, however many deliveries that takes."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | ConnectionError | TimeoutError):
        return True  # psycopg2: lost connections, deadlocks, serialization and lock timeouts, statement timeouts
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, AppError) and exc.status_code in (502, 503, 504)


# A handler applies one event's validated data inside the given session; it must not commit.
Handler = Callable[[Session, Any, Event], None]
# What a service consumes: each event model (type and version) with its handler.
Handlers = Mapping[type[EventData], Handler]


def handler_table(handlers: Handlers) -> dict[tuple[str, int], tuple[type[EventData], Handler]]:
    """(type, version) -> (model, handler); refuses keys that are not event models."""
    for model in handlers:
        if not (isinstance(model, type) and issubclass(model, EventData)):
            raise TypeError(f"handlers are keyed by event model (jeshkit.events), not {model!r}")
    return {(model.event_type, model.version): (model, handler) for model, handler in handlers.items()}


_INBOX_ROW = text(
    "INSERT INTO inbox (consumer, event_id) VALUES (:consumer, :event_id) ON CONFLICT DO NOTHING RETURNING event_id"
)
# A batch's inbox rows in one round trip: returns the ids not seen before.
_INBOX_ROWS = text(
    "INSERT INTO inbox (consumer, event_id) SELECT :consumer, unnest(CAST(:event_ids AS uuid[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


def first_seen(session: Session, consumer: str, event_ids: Iterable[str]) -> set[str]:
    """Write the inbox rows of events about to be applied, in the caller's transaction, in one statement; the ids not
    seen before (the others this consumer has applied, or is applying: the statement waits for that transaction).
    In ascending order, so that two transactions writing some of the same rows (two replicas' batches holding the same
    redelivered events) take them in the same order and never deadlock."""
    rows = session.execute(_INBOX_ROWS, {"consumer": consumer, "event_ids": sorted(set(event_ids))})
    return {str(event_id) for event_id in rows.scalars()}


def apply_once(session: Session, consumer: str, event: Event, data: EventData, handler: Handler) -> bool:
    """Apply an event in the caller's transaction together with its inbox row; False (nothing done) when this
    consumer has applied it before. The caller commits."""
    first_time = session.execute(_INBOX_ROW, {"consumer": consumer, "event_id": event.id}).first()
    if first_time is None:
        return False
    handler(session, data, event)
    return True


_BATCH_OPEN = "jeshkit.consumer.batch_open"  # session.info: a batch's handlers are running


def _refuse_handler_commit(session: Session) -> None:
    """A handler must not commit the batch's transaction (a savepoint of its own may end as it likes)."""
    if session.info.get(_BATCH_OPEN) and session.get_nested_transaction() is None:
        raise RuntimeError("an event handler committed the consumer's transaction")


# A message ready to apply: the message, its envelope, its validated data and its handler.
Ready = tuple[Any, Event, EventData, Handler]


def _age_seconds(msg: Any) -> float:
    """How long ago the message was first stored in the stream (0 when unknown)."""
    stamp = msg.metadata.timestamp if msg.metadata else None
    return max((datetime.now(UTC) - stamp).total_seconds(), 0.0) if stamp is not None else 0.0


class EventConsumer:
    """A durable pull consumer shared by all replicas of one service (each message goes to one of them)."""

    ack_wait_seconds = 30.0
    batch_size = 64  # most messages applied in one transaction

    def __init__(
        self,
        *,
        name: str,
        handlers: Handlers,
        session_factory: sessionmaker[Session],
        messaging: Any,
        max_deliveries: int,
        retry_seconds: float = 86400.0,
        loop_session_factory: sessionmaker[Session] | None = None,
    ) -> None:
        """loop_session_factory: sessions whose connections have the LOOP_* timeouts, for the transactions run on the
        event loop (module docstring); without it, every transaction runs in a worker thread."""
        self.name = name
        self.handlers = handler_table(handlers)
        self._session_factory = session_factory
        self._loop_session_factory = loop_session_factory
        self._messaging = messaging
        self._max_deliveries = max_deliveries
        self._retry_seconds = retry_seconds

    def consumer_config(self) -> ConsumerConfig:
        prefix = self._messaging.settings.events_subject_prefix
        return ConsumerConfig(
            durable_name=self.name,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_seconds,
            max_ack_pending=1000,
            filter_subjects=sorted({subject_for(prefix, event_type) for event_type, _ in self.handlers}),
        )

    def handler_for(self, event: Event) -> tuple[type[EventData], Handler] | None:
        """The model and handler of the event's type and version; an unknown version is never guessed at."""
        return self.handlers.get((event.type, event.version))

    async def run(self) -> None:
        while True:
            pull: PullBatches | None = None
            try:
                pull = await self._subscribe()
                while True:
                    raise_if_cancelling()
                    # Handed over the moment the first message comes, with whatever else came meanwhile.
                    await self.handle_batch(await pull.next_batch())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS away or restarting: resubscribe shortly
                raise_if_cancelling()
                log.warning("consumer %s interrupted, resubscribing: %s", self.name, exc)
                await asyncio.sleep(1.0)
            finally:
                if pull is not None:
                    await pull.stop()

    async def _subscribe(self) -> PullBatches:
        js = await self._messaging.wait_jetstream()
        stream = self._messaging.settings.events_stream
        config = self.consumer_config()
        try:
            await js.add_consumer(stream, config=config)
        except Exception:  # noqa: BLE001 - exists with another filter: update it in place
            await js.update_consumer(stream, config=config)
        pull = PullBatches(self._messaging.nc, stream=stream, durable=self.name, batch=self.batch_size)
        await pull.start()
        return pull

    def _ready(self, msg: Any) -> Ready | None:
        """The message parsed and validated, or None when handle() must park it (checked again there)."""
        try:
            event = Event.from_dict(json.loads(msg.data))
        except ValueError:
            return None
        found = self.handler_for(event)
        if found is None:
            return None
        model, handler = found
        try:
            return msg, event, model.parse(event.data), handler
        except EventDataError:
            return None

    async def handle_batch(self, msgs: list[Any]) -> None:
        """Apply what arrived together in one transaction, one inbox row per event, and ack each after the commit.
        A message that cannot be parsed is left to handle() (which parks it). If any handler fails (or ends the
        transaction), nothing of the batch is kept and every message is handled by itself, as if it had come alone:
        a failing event is then nak'ed or parked by its own delivery count, the others are applied."""
        if len(msgs) <= 1:
            for msg in msgs:
                await self.handle(msg)
            return
        ready: list[Ready] = []
        for msg in msgs:
            item = self._ready(msg)
            if item is None:
                await self.handle(msg)  # parks it
            else:
                ready.append(item)
        if not ready:
            return
        try:
            applied = await self._transaction(lambda factory: self._apply_batch(factory, ready))
        except Exception as exc:  # noqa: BLE001 - a handler or the commit failed: each alone decides
            log.info("consumer %s: a batch of %d failed (%s), applying each alone", self.name, len(ready), exc)
            for msg, _, _, _ in ready:
                await self.handle(msg)
            return
        await self._announce([event.id for (_, event, _, _), _ in applied], new=any(new for _, new in applied))
        for (msg, event, _, _), first_time in applied:
            if not first_time:
                log.info("consumer %s skipped duplicate event %s", self.name, event.id)
            await msg.ack()

    async def handle(self, msg: Any) -> None:
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        request_id_var.set((msg.headers or {}).get("X-Request-Id"))
        try:
            event = Event.from_dict(json.loads(msg.data))
        except ValueError as exc:  # json errors are ValueErrors too: poison, never retried
            await asyncio.to_thread(self._park, None, msg, f"malformed: {exc}", deliveries)
            await msg.term()
            return
        found = self.handler_for(event)
        if found is None:
            await self._give_up(event, msg, f"no handler for {event.type} v{event.version}", deliveries)
            return
        model, handler = found
        try:
            data = model.parse(event.data)
        except EventDataError as exc:  # never half applied: parked before anything is written
            await self._give_up(event, msg, str(exc), deliveries)
            return
        try:
            with consuming(msg.headers, event_type=event.type, event_id=event.id, subject=msg.subject,
                           consumer=self.name):  # the trace of the request that staged it goes on here
                applied = await self._transaction(lambda factory: self._apply(factory, event, data, handler))
        except Exception as exc:  # noqa: BLE001 - retried unless it can never work
            await self._failed(event, msg, exc)
            return
        if not applied:
            log.info("consumer %s skipped duplicate event %s", self.name, event.id)
        await self._announce([event.id], new=applied)
        await msg.ack()

    async def _announce(self, event_ids: list[str], *, new: bool) -> None:
        """After a commit: the events are applied (jeshkit.applied; a request may be waiting for them)."""
        if self._messaging is not None:
            await self._messaging.announce_applied(self.name, event_ids, new=new)

    async def _failed(self, event: Event, msg: Any, exc: Exception) -> None:
        """A delivery whose handler failed: parked when it can never work or its bound is reached, else nak'ed
        with a growing delay."""
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        age = _age_seconds(msg)
        if isinstance(exc, PoisonEvent):
            give_up = True
        elif is_transient(exc):  # bounded by time: a long outage must not park what is fine
            give_up = age >= self._retry_seconds
        else:  # bounded by count: a bug shows itself in a few deliveries
            give_up = deliveries >= self._max_deliveries
        if give_up:
            await self._give_up(event, msg, describe_failure(exc), deliveries)
        else:
            log.warning("consumer %s failed on %s (%s, delivery %d, %.0fs old), retrying: %s",
                        self.name, event.id, event.type, deliveries, age, exc)
            await msg.nak(delay=min(0.5 * 2 ** (min(deliveries, 10) - 1), 30.0))

    async def _give_up(self, event: Event, msg: Any, error: str, deliveries: int) -> None:
        """Park the message in dead_letter (an admin can replay it) and tell JetStream to stop delivering it."""
        log.error(
            "consumer %s parks event %s (%s v%d) after %d deliveries: %s",
            self.name, event.id, event.type, event.version, deliveries, error,
        )
        try:
            await asyncio.to_thread(self._park, event, msg, error, deliveries)
        except Exception:  # noqa: BLE001 - cannot park now: let it come back later
            await msg.nak(delay=30)
            return
        await msg.term()

    async def _transaction(self, work: Callable[[sessionmaker[Session]], T]) -> T:
        """Run one of the consumer's transactions on the event loop (module docstring), or in a worker thread when
        it waited too long there or there is no loop session factory."""
        if self._loop_session_factory is not None:
            engine = self._loop_session_factory.kw["bind"]
            if engine.pool.checkedin() == 0:  # connecting may take a while (connect_timeout): never on the loop
                await asyncio.to_thread(lambda: engine.connect().close())  # the connection stays in the pool
            try:
                return work(self._loop_session_factory)
            except DBAPIError as exc:
                if getattr(exc.orig, "pgcode", None) not in _WAITED_TOO_LONG:
                    raise
                log.info("consumer %s: a transaction waited too long on the event loop, run again in a thread: %s",
                         self.name, str(exc.orig).strip())
        return await asyncio.to_thread(work, self._session_factory)

    def _apply(self, factory: sessionmaker[Session], event: Event, data: EventData, handler: Handler) -> bool:
        with factory() as session:
            applied = apply_once(session, self.name, event, data, handler)
            session.commit()
            return applied

    def _apply_batch(self, factory: sessionmaker[Session], ready: list[Ready]) -> list[tuple[Ready, bool]]:
        """Every event of the batch in one transaction: the inbox rows in one statement, then the handler of each
        event not seen before. Returns each message with whether it was new; raises (nothing kept) if any fails."""
        applied: list[tuple[Ready, bool]] = []
        with factory() as session:
            # The inbox rows come first: a handler's commit would keep those of events not applied yet.
            sa_event.listen(session, "before_commit", _refuse_handler_commit)
            session.info[_BATCH_OPEN] = True
            transaction = session.begin()
            new = first_seen(session, self.name, [event.id for _, event, _, _ in ready])
            for item in ready:
                msg, event, data, handler = item
                first_time = event.id in new
                if first_time:
                    new.discard(event.id)  # the same event twice in one batch: applied once
                    request_id_var.set((msg.headers or {}).get("X-Request-Id"))
                    with consuming(msg.headers, event_type=event.type, event_id=event.id, subject=msg.subject,
                                   consumer=self.name):  # each event continues its own trace
                        handler(session, data, event)
                    if session.get_transaction() is not transaction:  # committed or rolled back by the handler
                        raise RuntimeError(f"the handler of {event.type} ended the batch's transaction")
                applied.append((item, first_time))
            session.info[_BATCH_OPEN] = False
            session.commit()
        return applied

    def _park(self, event: Event | None, msg: Any, error: str, deliveries: int) -> None:
        with self._session_factory() as session:
            session.execute(
                text(
                    "INSERT INTO dead_letter (consumer, event_id, subject, payload, error, deliveries) "
                    "VALUES (:consumer, :event_id, :subject, :payload, :error, :deliveries)"
                ),
                {
                    "consumer": self.name,
                    "event_id": event.id if event else None,
                    "subject": msg.subject,
                    "payload": msg.data.decode("utf-8", errors="replace"),
                    "error": error[:2000],
                    "deliveries": deliveries,
                },
            )
            session.commit()
