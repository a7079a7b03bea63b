"""LISTEN/NOTIFY: hear another transaction's commit within milliseconds, on a dedicated connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from jeshkit.tasks import in_thread

log = logging.getLogger("jeshkit.pglisten")


def notify(session: Session, channel: str) -> None:
    """Announce a change on `channel`; PostgreSQL delivers it only if the session's transaction commits.

    Once per transaction is enough (PostgreSQL folds repeats into one anyway): a consumer applying a batch of events
    in one transaction sends it once, not once per event. Inside a savepoint it is always sent, since rolling the
    savepoint back would take the NOTIFY with it."""
    nested = session.get_nested_transaction() is not None
    sent = session.info.get(_NOTIFIED)
    if not nested and sent is not None and sent[0] is session.get_transaction() and channel in sent[1]:
        return
    session.execute(text(f"NOTIFY {channel}"))
    if not nested:
        transaction = session.get_transaction()  # begun by the statement above if none was open
        if sent is None or sent[0] is not transaction:
            sent = session.info[_NOTIFIED] = (transaction, set[str]())
        sent[1].add(channel)


_NOTIFIED = "jeshkit.pglisten.notified"  # session.info: (the transaction, the channels it has notified)


class PgListener:
    """A connection outside the pool that LISTENs on one channel and calls on_notify() on the event loop."""

    def __init__(self, engine: Engine, channel: str, on_notify: Callable[[], None]) -> None:
        self._engine = engine
        self._channel = channel
        self._on_notify = on_notify
        self._conn: Any = None
        # The descriptor the reader is registered on, kept: once the connection is closed, fileno() raises,
        # and a reader left on that number would serve whichever socket reuses it next (a hung request, or
        # the event loop spinning on a peer's closed socket).
        self._fd: int | None = None

    @property
    def connected(self) -> bool:
        return self._conn is not None

    async def ensure(self) -> bool:
        """Listen if not yet listening (connecting happens in a thread, never on the event loop)."""
        if self._conn is not None:
            return True
        try:
            conn = await in_thread(self._open, discard=lambda c: c.close())
        except Exception as exc:  # noqa: BLE001 - the database is away: the caller falls back
            log.warning("cannot LISTEN on %s: %s", self._channel, exc)
            return False
        fd = conn.fileno()
        asyncio.get_running_loop().add_reader(fd, self._readable)
        self._conn, self._fd = conn, fd
        return True

    def _open(self) -> Any:
        import psycopg2

        dsn = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = psycopg2.connect(dsn, connect_timeout=3)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"LISTEN {self._channel}")
        return conn

    def _readable(self) -> None:
        conn = self._conn
        if conn is None:  # pragma: no cover - the reader is removed together with the connection
            return
        try:
            conn.poll()
            conn.notifies.clear()
            lost = bool(conn.closed)
        except Exception:  # noqa: BLE001 - connection lost
            lost = True
        if lost:
            log.warning("LISTEN connection on %s lost; listening again shortly", self._channel)
            self.close()  # ensure() listens again; meanwhile the callers' sweeps cover
        self._on_notify()

    def close(self) -> None:
        """Stop reading the descriptor first (by the number kept, never by asking the connection), then close."""
        conn, fd = self._conn, self._fd
        self._conn, self._fd = None, None
        if fd is not None:
            try:
                asyncio.get_running_loop().remove_reader(fd)
            except RuntimeError:  # no running loop (interpreter shutdown): nothing is reading it any more
                pass
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
