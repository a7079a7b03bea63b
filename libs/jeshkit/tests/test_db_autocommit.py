"""jeshkit.db.autocommit: each statement its own transaction, one round trip each, and the connection handed back
as it was taken (transactions again for the next user)."""

from __future__ import annotations

from sqlalchemy import text

from jeshkit.db import autocommit, make_engine, make_session_factory
from jeshstack.procs import Postgres

TXID = text("SELECT txid_current()")


def test_statements_stand_alone_and_the_connection_goes_back_transactional(jesh_postgres: Postgres) -> None:
    engine = make_engine(jesh_postgres.url(), pool_size=1)
    factory = make_session_factory(engine)
    try:
        for _ in range(3):  # the same pooled connection each time
            with factory() as session, autocommit(session) as connection:
                first, second = connection.execute(TXID).scalar(), connection.execute(TXID).scalar()
                assert first != second  # no BEGIN: each statement was a transaction of its own
                dbapi_connection = connection.connection.dbapi_connection
            # Handed back in transactional mode, and without SQLAlchemy's isolation-level switch, whose reset made
            # psycopg2 send "SET default_transaction_isolation TO DEFAULT" (a round trip) on every later use.
            assert dbapi_connection.autocommit is False and dbapi_connection.isolation_level is None
            with factory() as session:
                assert session.execute(TXID).scalar() == session.execute(TXID).scalar()  # one transaction
                session.rollback()
    finally:
        engine.dispose()
