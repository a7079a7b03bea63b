"""What the in-process micro-benchmarks share (request_cpu, payments_cpu, notifications_cpu, handlers_cpu): a
PostgreSQL to run against, and a fresh database of a service's schema on it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from jeshstack.databases import run_migrations, with_db
from jeshstack.procs import Postgres, free_port


@contextmanager
def bench_postgres(*, settings: dict[str, str] | None = None,
                   workdir: Path | None = None) -> Iterator[tuple[str, Path | None]]:
    """(base URL, data folder) of the server to measure against: JESH_POSTGRES_URL's (data folder None), or a
    temporary embedded PostgreSQL with these server settings, stopped afterwards."""
    base = os.environ.get("JESH_POSTGRES_URL")
    if base is not None:
        yield base, None
        return
    data = (workdir or Path(tempfile.mkdtemp(prefix="jesh-bench-pg-"))) / "pg"
    server = Postgres(data, free_port(), settings=settings)
    server.init()
    server.start()
    try:
        yield server.url(), data
    finally:
        server.stop()


def fresh_database(base: str, service: str, database: str) -> str:
    """Drop and create `database` on the server of `base`, apply `service`'s migrations; returns its URL."""
    admin = create_engine(with_db(base, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()
    url = with_db(base, database)
    run_migrations(service, url)
    return url
