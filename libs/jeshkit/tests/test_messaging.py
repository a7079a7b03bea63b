"""The outbox relay and the idempotent consumer against real PostgreSQL and a real nats-server."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from jeshkit.consumer import LOOP_LOCK_TIMEOUT_MS, EventConsumer, Handler, UnknownReference
from jeshkit.db import make_engine, make_session_factory
from jeshkit.events import EventData, EventDataError, Int
from jeshkit.messaging import Messaging
from jeshkit.outbox import Event, committed, stage
from jeshkit.relay import OutboxRelay
from jeshkit.settings import ServiceSettings
from jeshstack.procs import Nats
from jeshstack.testing import EventBus


class Ping(EventData):
    """A test event."""

    source = "kit"
    n: Int


@pytest.fixture
def kit_db(messaging_db: Callable[..., Engine]) -> Engine:
    return messaging_db("kit_test", "DROP TABLE IF EXISTS applied", "CREATE TABLE applied (event_id uuid, n integer)")


def settings_for(nats: Nats, **extra: Any) -> ServiceSettings:
    return ServiceSettings(service_name="kit", nats_url=nats.url, **extra)


def session_factory(engine: Engine) -> Any:
    factory = make_session_factory(engine)
    factory.kw["info"] = {"service": "kit", "subject_prefix": "jesh.events"}
    return factory


def stage_committed(factory: Any, n: int) -> list[str]:
    ids = []
    for i in range(n):
        with factory() as session:
            ids.append(stage(session, Ping(n=i)).id)
            session.commit()
    return ids


async def wait_async(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def unsent(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar_one())


def test_outbox_survives_nats_down_and_delivers_each_event_once(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    factory = session_factory(kit_db)
    jesh_nats.stop()
    try:
        committed = stage_committed(factory, 5)
        with factory() as session:  # rolled back: must never be sent
            rolled_back = stage(session, Ping(n=-1)).id
            session.rollback()

        async def scenario() -> None:
            messaging = Messaging(settings_for(jesh_nats), kit_db, factory)
            await messaging.start(workers=True)
            try:
                await asyncio.sleep(1.5)  # the relay tries while NATS is down
                assert unsent(kit_db) == 5
                await asyncio.to_thread(jesh_nats.start)
                await wait_async(lambda: unsent(kit_db) == 0, 20, "the outbox to drain after NATS came back")
            finally:
                await messaging.stop()

        asyncio.run(scenario())
    finally:
        if jesh_nats.proc is None:
            jesh_nats.start()

    delivered = [e["id"] for e in event_bus.events("Ping")]
    assert sorted(delivered) == sorted(committed)  # each once, the rolled-back one never
    assert rolled_back not in delivered


def test_a_commit_publishes_its_events_at_once_and_nothing_that_was_rolled_back(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = session_factory(kit_db)
    monkeypatch.setattr(OutboxRelay, "sweep_interval", 3600.0)  # after its first sweep, only commits publish
    swept: list[int] = []  # rows published by each sweep, in order
    sweep = OutboxRelay.relay_once

    async def counted_sweep(self: OutboxRelay, min_age: float = 0.0) -> tuple[int, bool]:
        published, more = await sweep(self, min_age)
        swept.append(published)
        return published, more

    monkeypatch.setattr(OutboxRelay, "relay_once", counted_sweep)

    def transactions() -> tuple[list[str], list[str]]:
        sent, never = [], []
        with factory() as session:
            sent.append(stage(session, Ping(n=1)).id)
            with session.begin_nested():  # released: its event is the transaction's
                sent.append(stage(session, Ping(n=2)).id)
            savepoint = session.begin_nested()
            never.append(stage(session, Ping(n=-2)).id)
            savepoint.rollback()
            session.commit()
        with factory() as session:
            never.append(stage(session, Ping(n=-3)).id)
            session.rollback()
        with factory() as session:  # closed without a commit
            never.append(stage(session, Ping(n=-4)).id)
        with factory() as session:  # the session goes on after a rollback: only what follows it is sent
            never.append(stage(session, Ping(n=-5)).id)
            session.rollback()
            sent.append(stage(session, Ping(n=3)).id)
            session.commit()
        return sent, never

    async def scenario() -> tuple[list[str], list[str], list[int]]:
        messaging = Messaging(settings_for(jesh_nats), kit_db, factory)
        await messaging.start(workers=True)
        try:
            await messaging.wait_jetstream()
            await wait_async(lambda: len(swept) > 0, 10, "the relay's first sweep")  # the next one in an hour
            first_sweeps = len(swept)
            sent, never = await asyncio.to_thread(transactions)
            await wait_async(lambda: len(event_bus.events("Ping")) >= 3 and unsent(kit_db) == 0, 5,
                             "the committed events to be published and marked sent")
            await asyncio.sleep(0.3)  # room for a wrong publication to show up
            return sent, never, swept[first_sweeps:]
        finally:
            await messaging.stop()

    sent, never, later_sweeps = asyncio.run(scenario())
    assert sum(later_sweeps) == 0, later_sweeps  # published at commit, by no sweep
    assert sorted(e["id"] for e in event_bus.events("Ping")) == sorted(sent)
    with kit_db.connect() as conn:  # the rolled-back rows are not in the outbox at all; the others are marked
        rows = dict(conn.execute(text("SELECT id::text, sent_at IS NOT NULL FROM outbox")).all())
    assert {i: rows.get(i) for i in sent} == {i: True for i in sent}
    assert not set(never) & set(rows)


def test_the_first_sweep_leaves_the_rows_committed_since_the_relay_started_to_their_publication(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row left unsent before the relay started (its process died) goes at the first sweep; one committed since is
    this process's own, on its way since its commit: the sweep does not send it a second time."""
    monkeypatch.setattr(OutboxRelay, "sweep_interval", 3600.0)
    plain = session_factory(kit_db)  # no relay attached: its commits publish nothing, as if on their way
    [left] = stage_committed(plain, 1)

    async def scenario() -> None:
        messaging = Messaging(settings_for(jesh_nats), kit_db, session_factory(kit_db))
        await messaging.start(workers=False)
        relay = OutboxRelay(kit_db, messaging)
        try:
            await messaging.wait_jetstream()
            await asyncio.sleep(0.05)
            await asyncio.to_thread(stage_committed, plain, 1)  # committed after the relay started
            sweeping = asyncio.create_task(relay.run())
            await wait_async(lambda: unsent(kit_db) <= 1, 10, "the first sweep")
            await asyncio.sleep(0.3)  # room for a second publication to show up
            sweeping.cancel()
            await asyncio.gather(sweeping, return_exceptions=True)
        finally:
            await messaging.stop()

    asyncio.run(scenario())
    assert [e["id"] for e in event_bus.events("Ping")] == [left]
    assert unsent(kit_db) == 1  # left to its own publication (or, past a second, to a later sweep)


def test_a_sweep_holds_no_row_lock_while_it_publishes_and_another_sweep_leaves_its_claim_alone(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    staged = stage_committed(session_factory(kit_db), 3)  # no relay in this process yet: left to a sweep
    seen: dict[str, Any] = {}

    def meanwhile(other: OutboxRelay) -> None:
        """While the first sweep's batch is on its way: its rows can be locked at once, and are not taken again."""
        with kit_db.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '100ms'"))
            seen["locked"] = len(conn.execute(
                text("SELECT id FROM outbox WHERE id = ANY(CAST(:ids AS uuid[])) FOR UPDATE NOWAIT"),
                {"ids": staged}).all())
            seen["open"] = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'")).scalar_one()
        seen["other"] = asyncio.run_coroutine_threadsafe(other.relay_once(), seen["loop"]).result(10)

    async def scenario() -> None:
        messaging = Messaging(settings_for(jesh_nats), kit_db, session_factory(kit_db))
        await messaging.start(workers=False)
        try:
            await messaging.wait_jetstream()
            seen["loop"] = asyncio.get_running_loop()
            first, other = OutboxRelay(kit_db, messaging), OutboxRelay(kit_db, messaging)
            publish = first._publish
            paused = False

            async def publish_after_a_look(js: Any, row: Any) -> None:
                nonlocal paused
                if not paused:
                    paused = True
                    await asyncio.to_thread(meanwhile, other)
                await publish(js, row)

            first._publish = publish_after_a_look  # type: ignore[method-assign]
            seen["first"] = await first.relay_once()
        finally:
            await messaging.stop()

    asyncio.run(scenario())
    assert seen["locked"] == 3  # no lock held on them while they were published
    assert seen["open"] == 0  # nor any transaction left open
    assert seen["other"] == (0, False)  # the other replica's sweep found them claimed
    assert seen["first"] == (3, False)
    assert unsent(kit_db) == 0
    assert sorted(e["id"] for e in event_bus.events("Ping")) == sorted(staged)  # each once


def test_a_claim_whose_relay_died_runs_out_and_its_rows_are_swept(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    staged = stage_committed(session_factory(kit_db), 2)
    with kit_db.begin() as conn:  # claimed by a sweep that died: one claim still running, one run out
        conn.execute(text("UPDATE outbox SET claimed_until = clock_timestamp() + interval '1 hour' WHERE id = :id"),
                     {"id": staged[0]})
        conn.execute(text("UPDATE outbox SET claimed_until = clock_timestamp() - interval '1 second' WHERE id = :id"),
                     {"id": staged[1]})

    async def scenario() -> tuple[int, bool]:
        messaging = Messaging(settings_for(jesh_nats), kit_db, session_factory(kit_db))
        await messaging.start(workers=False)
        try:
            await messaging.wait_jetstream()
            return await OutboxRelay(kit_db, messaging).relay_once()
        finally:
            await messaging.stop()

    assert asyncio.run(scenario()) == (1, False)
    assert [e["id"] for e in event_bus.events("Ping")] == [staged[1]]
    assert unsent(kit_db) == 1


def test_a_process_without_workers_publishes_its_own_commits_and_sweeps_nothing(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    factory = session_factory(kit_db)
    orphan = event_bus.envelope("Ping", {"n": 0}, source="kit")
    with kit_db.begin() as conn:  # left unsent by a process that died: for a sweep, i.e. for a replica with workers
        conn.execute(text(
            "INSERT INTO outbox (id, type, version, subject, payload, created_at) VALUES "
            "(:id, 'Ping', 1, 'jesh.events.Ping', CAST(:payload AS jsonb), now() - interval '1 minute')"),
            {"id": orphan["id"], "payload": json.dumps(orphan)})

    def commit() -> str:
        with factory() as session:
            event_id = stage(session, Ping(n=7)).id
            session.commit()
        return event_id

    async def scenario() -> str:
        messaging = Messaging(settings_for(jesh_nats), kit_db, factory)
        await messaging.start(workers=False)  # an API-only replica: no sweep, no consumer, no jobs
        try:
            await messaging.wait_jetstream()
            event_id = await asyncio.to_thread(commit)
            await wait_async(lambda: unsent(kit_db) == 1, 5, "the committed event to be published and marked sent")
            await asyncio.sleep(1.5)  # room for a sweep to show up (the first one takes every unsent row)
            return event_id
        finally:
            await messaging.stop()

    event_id = asyncio.run(scenario())
    assert [e["id"] for e in event_bus.events("Ping")] == [event_id]
    assert unsent(kit_db) == 1  # the dead process's row: left to a replica that runs workers


def run_consumer(engine: Engine, nats: Nats, handler: Any, until: Any, **settings: Any) -> None:
    factory = session_factory(engine)

    async def scenario() -> None:
        messaging = Messaging(settings_for(nats, **settings), engine, factory, handlers={Ping: handler})
        await messaging.start(workers=True)
        try:
            await wait_async(until, 20, "the consumer")
            await asyncio.sleep(0.5)  # room for a wrong second application to show up
        finally:
            await messaging.stop()

    asyncio.run(scenario())


def record(session: Session, data: Ping, event: Event) -> None:
    session.execute(text("INSERT INTO applied (event_id, n) VALUES (:id, :n)"), {"id": event.id, "n": data.n})


def applied(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [(str(r[0]), r[1]) for r in conn.execute(text("SELECT event_id, n FROM applied"))]


def test_consumer_applies_a_redelivered_event_exactly_once(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    first = event_bus.publish("Ping", {"n": 1})
    # The same event again under another Nats-Msg-Id: JetStream cannot de-duplicate it, the inbox must.
    event_bus.publish("Ping", {"n": 1}, event_id=first["id"], dedupe=False)
    event_bus.publish("Ping", {"n": 2})
    run_consumer(kit_db, jesh_nats, record, lambda: len(applied(kit_db)) >= 2)
    assert sorted(n for _, n in applied(kit_db)) == [1, 2]
    with kit_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM inbox WHERE consumer = 'kit'")).scalar_one() == 2


def test_consumer_retries_a_transient_failure_and_parks_a_poison_message(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    calls: dict[int, int] = {}

    def flaky(session: Session, data: Ping, event: Event) -> None:
        n = data.n
        calls[n] = calls.get(n, 0) + 1
        if n == 1 and calls[n] < 2:
            raise ConnectionError("transient")
        if n == 99:
            raise ValueError("never works")
        record(session, data, event)

    event_bus.publish("Ping", {"n": 1})
    poison = event_bus.publish("Ping", {"n": 99})

    def parked() -> bool:
        with kit_db.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM dead_letter")).scalar_one())

    run_consumer(kit_db, jesh_nats, flaky, lambda: parked() and applied(kit_db), consumer_max_deliveries=3)
    assert [n for _, n in applied(kit_db)] == [1]
    assert calls[1] == 2
    assert calls[99] == 3  # bounded: delivered max_deliveries times, then parked
    with kit_db.connect() as conn:
        row = conn.execute(text("SELECT event_id, deliveries, error FROM dead_letter")).one()
    assert str(row.event_id) == poison["id"]
    assert row.deliveries == 3
    assert "never works" in row.error


def parked_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT event_id, error FROM dead_letter ORDER BY id")))


def test_data_that_breaks_the_contract_an_unknown_version_and_an_unknown_reference_are_parked_not_applied(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    def strict(session: Session, data: Ping, event: Event) -> None:
        record(session, data, event)  # written first: must be undone with the rest
        if data.n == 404:
            raise UnknownReference("ping 404 refers to nothing known")

    bad_data = event_bus.publish("Ping", {"n": "1"})  # a string is not an integer: never coerced
    missing = event_bus.publish("Ping", {})
    future = event_bus.publish("Ping", {"n": 2}, version=2)  # no handler for v2: never guessed at
    unknown = event_bus.publish("Ping", {"n": 404})
    event_bus.publish("Ping", {"n": 3})
    run_consumer(kit_db, jesh_nats, strict, lambda: len(parked_rows(kit_db)) >= 4 and applied(kit_db))
    assert [n for _, n in applied(kit_db)] == [3]
    parked = {str(row.event_id): row.error for row in parked_rows(kit_db)}
    assert set(parked) == {bad_data["id"], missing["id"], future["id"], unknown["id"]}
    assert "does not match its contract" in parked[bad_data["id"]]
    assert "no handler for Ping v2" in parked[future["id"]]
    assert "refers to nothing known" in parked[unknown["id"]]
    with kit_db.connect() as conn:  # nothing of a parked event was kept, its inbox row included
        assert conn.execute(text("SELECT count(*) FROM inbox")).scalar_one() == 1


def test_staging_refuses_data_its_model_refuses(kit_db: Engine) -> None:
    factory = session_factory(kit_db)
    with factory() as session:
        with pytest.raises(EventDataError):
            stage(session, "Ping", {"n": "one"})
        with pytest.raises(EventDataError, match="no event model"):
            stage(session, "Pong", {"n": 1})
        with pytest.raises(ValueError):
            Ping(n="one")  # type: ignore[arg-type]
        event = stage(session, "Ping", {"n": 5})
    assert event.type == "Ping" and event.source == "kit" and event.data == {"n": 5}


def test_transient_failures_are_retried_past_the_delivery_count_until_the_time_bound(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    from sqlalchemy.exc import OperationalError

    calls: dict[int, int] = {}

    def database_away(session: Session, data: Ping, event: Event) -> None:
        calls[data.n] = calls.get(data.n, 0) + 1
        if data.n == 2 or calls[data.n] <= 4:  # n=2: away for good
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        record(session, data, event)

    event_bus.publish("Ping", {"n": 1})
    stuck = event_bus.publish("Ping", {"n": 2})
    run_consumer(
        kit_db, jesh_nats, database_away, lambda: applied(kit_db) and parked_rows(kit_db),
        consumer_max_deliveries=2, consumer_retry_seconds=4.0,
    )
    assert [n for _, n in applied(kit_db)] == [1]
    # A PostgreSQL outage longer than max_deliveries allowed parks nothing: it failed four times, then was applied
    # (more calls than five when the two came together: a failed batch is applied again one by one).
    assert calls[1] >= 5
    assert [str(row.event_id) for row in parked_rows(kit_db)] == [stuck["id"]]  # but time does
    assert calls[2] > 2


def test_an_unpublishable_outbox_row_does_not_hold_up_the_rows_behind_it(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    factory = session_factory(kit_db)
    first = stage_committed(factory, 1)
    huge = str(uuid.uuid4())  # beyond NATS's max_payload: it can never be published
    with kit_db.begin() as conn:
        conn.execute(
            text("INSERT INTO outbox (id, type, version, subject, payload) "
                 "VALUES (:id, 'Ping', 1, 'jesh.events.Ping', CAST(:payload AS jsonb))"),
            {"id": huge, "payload": json.dumps({"id": huge, "type": "Ping", "data": {"n": 0, "pad": "x" * 2_000_000}})},
        )
    behind = stage_committed(factory, 2)

    async def scenario() -> None:
        messaging = Messaging(settings_for(jesh_nats, outbox_max_attempts=2), kit_db, factory)
        await messaging.start(workers=True)
        try:
            await wait_async(lambda: unsent(kit_db) == 0, 20, "every row sent or parked")
        finally:
            await messaging.stop()

    asyncio.run(scenario())
    delivered = [e["id"] for e in event_bus.events("Ping")]
    assert sorted(delivered) == sorted(first + behind)
    with kit_db.connect() as conn:
        row = conn.execute(text("SELECT consumer, event_id, deliveries, error FROM dead_letter")).one()
    assert (row.consumer, str(row.event_id), row.deliveries) == ("outbox", huge, 2)
    assert "MaxPayload" in row.error


def consume_twenty_exactly_once(kit_db: Engine, jesh_nats: Nats, event_bus: EventBus, handler: Handler) -> None:
    """Publish Ping 0-19, consume them with `handler` (they arrive together), and check each applied once."""
    for n in range(20):
        event_bus.publish("Ping", {"n": n})
    run_consumer(kit_db, jesh_nats, handler, lambda: len(applied(kit_db)) >= 20)
    assert sorted(n for _, n in applied(kit_db)) == list(range(20))
    with kit_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM inbox WHERE consumer = 'kit'")).scalar_one() == 20


def test_messages_that_arrive_together_are_applied_in_one_transaction_each_exactly_once(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    calls: dict[int, int] = {}

    def batched(session: Session, data: Ping, event: Event) -> None:
        calls[data.n] = calls.get(data.n, 0) + 1
        record(session, data, event)
        session.execute(text("INSERT INTO txids VALUES (:n, txid_current())"), {"n": data.n})

    with kit_db.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS txids"))
        conn.execute(text("CREATE TABLE txids (n integer, txid bigint)"))
    consume_twenty_exactly_once(kit_db, jesh_nats, event_bus, batched)
    with kit_db.connect() as conn:
        transactions = conn.execute(text("SELECT count(DISTINCT txid) FROM txids")).scalar_one()
    assert set(calls.values()) == {1}
    assert transactions < 20  # several events were applied in one transaction


def test_a_batch_with_a_failing_or_committing_handler_is_applied_each_alone_exactly_once(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    calls: dict[int, int] = {}

    def batched(session: Session, data: Ping, event: Event) -> None:
        calls[data.n] = calls.get(data.n, 0) + 1
        record(session, data, event)
        if data.n == 15 and calls[15] == 1:
            raise ValueError("fails on its first delivery only")
        if data.n == 12:
            # A handler that commits: in a batch this would also commit the inbox rows of events 13-19, not yet
            # applied; the kit refuses it there, and the batch is applied each alone.
            session.commit()

    consume_twenty_exactly_once(kit_db, jesh_nats, event_bus, batched)  # what 12 committed alone is not redone
    assert calls[15] == 2  # failed on its first delivery, applied on its second


def test_a_consumer_whose_durable_is_deleted_declares_it_again_and_goes_on(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    # The stream and its consumers gone (NATS back with an empty store, or deleted by hand) and the stream declared
    # again by the next publish. Before: every pull was answered "no responders" or "consumer deleted" at once, which
    # ended the request without an error, so the consumer asked again thousands of times a second, for good, and
    # never applied another event.
    factory = session_factory(kit_db)

    async def scenario() -> None:
        messaging = Messaging(settings_for(jesh_nats), kit_db, factory, handlers={Ping: record})
        await messaging.start(workers=True)
        try:
            await asyncio.to_thread(event_bus.publish, "Ping", {"n": 1})  # the bus runs a loop of its own
            await wait_async(lambda: len(applied(kit_db)) == 1, 20, "the first event")
            await asyncio.to_thread(event_bus.reset)
            await asyncio.to_thread(event_bus.publish, "Ping", {"n": 2})
            await wait_async(lambda: len(applied(kit_db)) == 2, 20, "the event after the consumer was deleted")
        finally:
            await messaging.stop()

    asyncio.run(scenario())
    assert sorted(n for _, n in applied(kit_db)) == [1, 2]



def test_a_stream_jetstream_will_not_store_into_now_keeps_the_rows_waiting_not_parked(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JetStream answers 503 (here: the stream full, with discard=new; also "temporarily unavailable"): NATS's state,
    # not the rows'. Before: counted as each row's own failure, and after OUTBOX_MAX_ATTEMPTS sweeps every event
    # waiting was parked in dead_letter for an operator to replay.
    import dataclasses

    from nats.js.api import DiscardPolicy

    monkeypatch.setattr(OutboxRelay, "sweep_interval", 0.3)
    factory = session_factory(kit_db)

    async def stream_limit(js: Any, max_msgs: int) -> None:
        info = await js.stream_info("JESH_EVENTS")
        await js.update_stream(dataclasses.replace(info.config, max_msgs=max_msgs, discard=DiscardPolicy.NEW))

    async def scenario() -> list[str]:
        messaging = Messaging(settings_for(jesh_nats, outbox_max_attempts=2), kit_db, factory)
        await messaging.start(workers=True)
        try:
            await wait_async(lambda: messaging.jetstream() is not None, 10, "JetStream")
            js = messaging.jetstream()
            filler = await asyncio.to_thread(event_bus.publish, "Ping", {"n": -1})
            await stream_limit(js, 1)  # full
            waiting = await asyncio.to_thread(stage_committed, factory, 3)
            await asyncio.sleep(3)  # ten sweeps: each tries every row
            with kit_db.connect() as conn:
                errors = conn.execute(text("SELECT last_error FROM outbox WHERE sent_at IS NULL")).scalars().all()
                parked = conn.execute(text("SELECT count(*) FROM dead_letter")).scalar_one()
            assert len(errors) == 3 and all(errors) and parked == 0, (errors, parked)
            await stream_limit(js, -1)  # room again: they go
            await wait_async(lambda: unsent(kit_db) == 0, 20, "the rows to go once JetStream stores again")
            return [filler["id"], *waiting]
        finally:
            await messaging.stop()

    published = asyncio.run(scenario())
    assert sorted(e["id"] for e in event_bus.events("Ping")) == sorted(published)  # each once


def test_committed_is_what_the_last_commit_kept_relay_or_not(kit_db: Engine) -> None:
    """jeshkit.applied waits for what a request's commit kept: the rows the stream carries, nothing rolled back."""
    factory = session_factory(kit_db)  # no Messaging: this process runs no relay
    with factory() as session:
        kept = [stage(session, Ping(n=1)).id]
        with session.begin_nested():
            kept.append(stage(session, Ping(n=2)).id)
        savepoint = session.begin_nested()
        stage(session, Ping(n=-1))
        savepoint.rollback()
        assert committed(session) == []  # nothing committed yet
        session.commit()
        rows = committed(session)
        assert [row.id for row in rows] == kept and {row.subject for row in rows} == {"jesh.events.Ping"}
        assert [json.loads(row.payload)["data"] for row in rows] == [{"n": 1}, {"n": 2}]
        stage(session, Ping(n=-2))
        session.rollback()
        session.commit()  # a commit that kept no event
        assert committed(session) == []


def test_a_request_waits_until_the_consumer_announces_what_its_commit_published(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    """jeshkit.applied end to end: a process follows a service's announcements (here its own, service "kit"); its
    consumer announces each event after its commit, once after_applied ran, and again when found applied before; a
    wait for an event nobody applies gives up after the timeout."""
    factory = session_factory(kit_db)
    forgot: list[int] = []
    announced = event_bus.announcements("kit")

    def commit_and_wait(messaging: Messaging, *ns: int) -> tuple[bool, list[str], int, int]:
        with factory() as session:
            ids = [stage(session, Ping(n=n)).id for n in ns]
            session.commit()
            waited = messaging.wait_applied("kit", ids)
            return waited, ids, len(applied(kit_db)), len(forgot)

    async def scenario() -> None:
        messaging = Messaging(settings_for(jesh_nats), kit_db, factory, handlers={Ping: record}, follows=["kit"])
        messaging.after_applied = lambda: forgot.append(len(applied(kit_db)))
        await messaging.start(workers=True)
        try:
            await messaging.wait_jetstream()
            waited, [first, second], rows, forgotten = await asyncio.to_thread(commit_and_wait, messaging, 1, 2)
            assert waited and rows == 2 and forgotten >= 1  # applied, and after_applied ran, when the wait ended
            assert forgot[0] >= 1  # after the commit
            await wait_async(lambda: {first, second} <= set(announced.heard), 5, "the announcement")

            # Delivered again: found applied, announced again.
            await asyncio.to_thread(lambda: event_bus.publish("Ping", {"n": 1}, event_id=first, dedupe=False))
            await wait_async(lambda: announced.heard.count(first) == 2, 10, "the copy announced")
            assert len(applied(kit_db)) == 2

            started = time.monotonic()
            assert await asyncio.to_thread(messaging.wait_applied, "kit", [str(uuid.uuid4())]) is False
            assert 1.0 <= time.monotonic() - started < 2.0  # gave up after jeshkit.applied.TIMEOUT_SECONDS
            started = time.monotonic()
            assert await asyncio.to_thread(messaging.wait_applied, "kit", [first]) is True  # announced before
            assert time.monotonic() - started < 0.5
            with pytest.raises(RuntimeError, match="does not follow"):
                messaging.wait_applied("nobody", [first])
        finally:
            await messaging.stop()
            announced.stop()

    asyncio.run(scenario())


# --- the consumer's transactions on the event loop (jeshkit.consumer's docstring) ---------------------------------


class StallMeter:
    """`async with StallMeter() as meter:` the longest the event loop went without running a 10 ms ticker meanwhile
    (meter.longest, seconds)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.longest, last = max(self.longest, now - last), now

    async def __aenter__(self) -> StallMeter:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0.05)  # the ticker is going
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


def consume_on_loop(engine: Engine, nats: Nats, handler: Any, until: Any) -> tuple[int, float]:
    """Run a process's messaging with `handler` until `until()`. Returns the loop's thread and the longest the loop
    stalled meanwhile (StallMeter)."""
    factory = session_factory(engine)

    async def scenario() -> tuple[int, float]:
        messaging = Messaging(settings_for(nats), engine, factory, handlers={Ping: handler})
        await messaging.start(workers=True)
        try:
            async with StallMeter() as meter:
                await wait_async(until, 20, "the consumer")
                await asyncio.sleep(0.5)  # room for a wrong second application to show up
        finally:
            await messaging.stop()
        return threading.get_ident(), meter.longest

    return asyncio.run(scenario())


def test_the_consumer_applies_an_event_on_the_event_loop_itself(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    threads: list[int] = []

    def on_ping(session: Session, data: Ping, event: Event) -> None:
        threads.append(threading.get_ident())
        record(session, data, event)

    event_bus.publish("Ping", {"n": 1})
    loop_thread, _ = consume_on_loop(kit_db, jesh_nats, on_ping, lambda: len(applied(kit_db)) == 1)

    assert threads == [loop_thread]  # no hop to a worker thread
    assert [n for _, n in applied(kit_db)] == [1]


def test_a_transaction_that_waits_for_a_lock_leaves_the_loop_and_is_applied_once_in_a_thread(
    kit_db: Engine, jesh_nats: Nats, event_bus: EventBus
) -> None:
    with kit_db.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS guarded"))
        conn.execute(text("CREATE TABLE guarded (id integer PRIMARY KEY)"))
        conn.execute(text("INSERT INTO guarded VALUES (1)"))
    locked, threads = threading.Event(), []

    def on_ping(session: Session, data: Ping, event: Event) -> None:
        threads.append(threading.get_ident())
        session.execute(text("SELECT id FROM guarded WHERE id = 1 FOR UPDATE"))  # waits for the holder below
        record(session, data, event)

    def hold_the_row() -> None:  # another transaction holds the row for 2 s, from before the event comes
        with kit_db.begin() as conn:
            conn.execute(text("SELECT id FROM guarded WHERE id = 1 FOR UPDATE"))
            locked.set()
            time.sleep(2.0)

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(10)
    event_bus.publish("Ping", {"n": 7})
    loop_thread, longest_stall = consume_on_loop(kit_db, jesh_nats, on_ping, lambda: len(applied(kit_db)) == 1)
    holder.join()

    assert [n for _, n in applied(kit_db)] == [7]  # applied once, after the holder let go
    assert len(threads) == 2 and threads[0] == loop_thread and threads[1] != loop_thread
    # The loop waited for the lock no longer than the bound, not for the holder's 2 s.
    assert longest_stall < 0.3, f"the event loop stalled {longest_stall:.3f} s (bound {LOOP_LOCK_TIMEOUT_MS} ms)"


def test_the_consumer_opens_its_loop_connection_in_a_thread_so_a_silent_server_stalls_nothing() -> None:
    # A server that accepts the connection and never answers: connecting waits for connect_timeout (3 s).
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    engine = make_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{port}/kit", pool_size=1)
    consumer = EventConsumer(name="kit", handlers={}, session_factory=session_factory(engine), messaging=None,
                             max_deliveries=3, loop_session_factory=session_factory(engine))

    async def scenario() -> tuple[BaseException | None, float]:
        failure = None
        async with StallMeter() as meter:
            try:
                await consumer._transaction(lambda factory: factory().execute(text("SELECT 1")))
            except Exception as exc:  # noqa: BLE001 - what the test looks at
                failure = exc
        return failure, meter.longest

    try:
        failure, longest_stall = asyncio.run(scenario())
    finally:
        silent.close()
        engine.dispose()
    assert isinstance(failure, OperationalError)  # the consumer's usual transient failure: nak'ed, tried again
    assert longest_stall < 0.3, f"the event loop stalled {longest_stall:.3f} s while connecting"
