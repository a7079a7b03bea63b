"""What the in-process micro-benchmarks share (request_cpu, payments_cpu, notifications_cpu, handlers_cpu): a
PostgreSQL to run against, a fresh database of a service's schema on it, and one HTTP request to an app as ASGI."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from jeshstack.databases import run_migrations, with_db
from jeshstack.procs import Postgres, free_port


@contextmanager
def bench_postgres(*, settings: dict[str, str] | None = None,
                   workdir: Path | None = None) -> Iterator[tuple[str, Path | None]]:
    """(base URL, data folder) of the server to measure against: JESH_POSTGRES_URL's (data folder None), or a
    temporary embedded PostgreSQL with these server settings, stopped and its folder removed afterwards (in
    `workdir`, when given: the caller's to remove)."""
    base = os.environ.get("JESH_POSTGRES_URL")
    if base is not None:
        yield base, None
        return
    folder = workdir or Path(tempfile.mkdtemp(prefix="jesh-bench-pg-"))
    server = Postgres(folder / "pg", free_port(), settings=settings)
    try:
        server.init()
        server.start()
        yield server.url(), folder / "pg"
    finally:
        server.stop()
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


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


async def call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> int:
    """One request to the app as ASGI (no server, no socket); returns the answer's status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"service"), *headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8003), "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never: the app reads one message
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status
