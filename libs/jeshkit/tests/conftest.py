"""Fixtures of the kit's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text

from jeshkit.db import make_engine
from jeshkit.migrations import MESSAGING_DDL
from jeshstack.procs import Postgres


@pytest.fixture
def messaging_db(jesh_postgres: Postgres) -> Iterator[Callable[..., Engine]]:
    """messaging_db(name, *extra_ddl): a database with the kit's messaging tables (outbox, inbox, dead_letter), made
    anew, and the extra tables given; disposed of after the test."""
    engines: list[Engine] = []

    def make(name: str, *extra_ddl: str) -> Engine:
        engine = make_engine(jesh_postgres.ensure_database(name))
        engines.append(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS outbox, inbox, dead_letter"))
            for ddl in (*MESSAGING_DDL, *extra_ddl):
                conn.execute(text(ddl))
        return engine

    yield make
    for engine in engines:
        engine.dispose()
