"""PgListener: a LISTEN connection that dies leaves the event loop clean (no reader on a dead descriptor); notify()."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from jeshkit.db import make_engine
from jeshkit.pglisten import PgListener, notify
from jeshstack.procs import Postgres


@pytest.fixture
def engine(jesh_postgres: Postgres) -> Iterator[Engine]:
    engine = make_engine(jesh_postgres.ensure_database("kit_listen_test"))
    yield engine
    engine.dispose()


def test_a_lost_listen_connection_leaves_no_reader_on_its_descriptor(engine: Engine) -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        heard = asyncio.Event()
        listener = PgListener(engine, "kit_test_channel", heard.set)
        assert await listener.ensure()
        fd = listener._conn.fileno()
        pid = listener._conn.get_backend_pid()
        await asyncio.to_thread(_terminate, engine, pid)  # what a PostgreSQL restart does to it
        for _ in range(200):  # the loss may take more than one wake-up to show
            if not listener.connected:
                break
            await asyncio.sleep(0.05)
        assert heard.is_set()
        still_reading = asyncio.get_running_loop().remove_reader(fd)  # True if a reader was left behind
        connected = listener.connected
        again = await listener.ensure()  # and it listens again
        listener.close()
        return still_reading, connected, again

    still_reading, connected, again = asyncio.run(scenario())
    assert not still_reading, "a reader was left on the closed connection's descriptor"
    assert not connected and again


def test_notifications_wake_the_listener(engine: Engine) -> None:
    async def scenario() -> None:
        heard = asyncio.Event()
        listener = PgListener(engine, "kit_test_channel", heard.set)
        assert await listener.ensure()
        with engine.begin() as conn:
            conn.execute(text("NOTIFY kit_test_channel"))
        await asyncio.wait_for(heard.wait(), timeout=5)
        assert listener.connected
        listener.close()

    asyncio.run(scenario())


def _terminate(engine: Engine, pid: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_notify_is_sent_once_per_transaction_and_again_in_the_next(engine: Engine) -> None:
    sent: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("NOTIFY"):
            sent.append(statement)

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        with Session(engine) as session:
            for _ in range(3):  # a batch of events in one transaction
                notify(session, "kit_a")
            notify(session, "kit_b")
            session.commit()
            assert sent == ["NOTIFY kit_a", "NOTIFY kit_b"]
            notify(session, "kit_a")  # a new transaction announces again
            session.rollback()
            notify(session, "kit_a")  # and so does the one after a rollback
            with session.begin_nested():
                notify(session, "kit_a")  # a savepoint's rollback would take it away: always sent
            session.commit()
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert sent == ["NOTIFY kit_a", "NOTIFY kit_b"] + ["NOTIFY kit_a"] * 3
