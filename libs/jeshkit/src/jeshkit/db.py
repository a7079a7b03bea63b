"""One engine and session factory per process, and the constraint naming convention."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import URL, Connection, Engine, MetaData, create_engine
from sqlalchemy.orm import Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A service's own MetaData (each service declares `class Base(DeclarativeBase): metadata = new_metadata()`)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(
    url: str | URL,
    *,
    pool_size: int = 20,
    max_overflow: int = 0,
    statement_timeout_ms: int = 5000,
    lock_timeout_ms: int | None = None,
    pool_timeout: float = 3.0,
    application_name: str = "",
) -> Engine:
    """application_name: the service, shown in PostgreSQL's pg_stat_activity (which service holds what).
    lock_timeout_ms: how long a statement may wait for a lock (PostgreSQL's default: as long as its statement
    timeout)."""
    options = f"-c statement_timeout={statement_timeout_ms}"
    if lock_timeout_ms is not None:
        options += f" -c lock_timeout={lock_timeout_ms}"
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # A request waits this long for a pooled connection, then answers 503 (jeshkit.errors), never 30 s.
        pool_timeout=pool_timeout,
        # No pre-ping (a round trip on every checkout): when PostgreSQL restarts, the first statement on a
        # dead connection fails (503 to that one request) and SQLAlchemy then discards the whole pool.
        pool_recycle=1800,
        connect_args={"connect_timeout": 3, "options": options, "application_name": application_name},
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def autocommit(session: Session) -> Iterator[Connection]:
    """The session's connection with every statement its own transaction: one round trip each, no BEGIN and no
    COMMIT around it. For statements that stand alone (a look-up, an outcome recorded while nothing else is open);
    the session (its own ORM reads included) runs on it until the block ends, then the connection is handed back."""
    # psycopg2's own switch, not SQLAlchemy's isolation_level option: that one sets the level back when the
    # connection is handed back, and psycopg2 then sends "SET default_transaction_isolation TO DEFAULT" the next time
    # it enters autocommit, a round trip more each time. No BEGIN has been sent yet (psycopg2 sends it with the first
    # statement), so the switch is allowed; it is switched back before the connection can go back to the pool.
    connection = session.connection()
    dbapi_connection: Any = connection.connection.dbapi_connection  # psycopg2's connection, checked out: not None
    dbapi_connection.autocommit = True
    try:
        yield connection
    finally:
        if not dbapi_connection.closed:
            dbapi_connection.autocommit = False
        session.commit()  # no transaction is open on the server: psycopg2 sends nothing


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request; the use case commits, anything left uncommitted is rolled back.

    async, so that FastAPI makes and closes it without two thread hops per request: making a session does no I/O
    (it connects when first used, in the route's thread), nor does closing one whose transaction has ended; a
    rollback still to do is a round trip, done in a thread."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            await asyncio.to_thread(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]
