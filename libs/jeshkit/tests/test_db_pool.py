"""A request that finds no free database connection answers 503 in the envelope within seconds, not 500 after 30."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from jeshkit.db import make_engine
from jeshkit.errors import install_error_handlers
from jeshkit.settings import ServiceSettings
from jeshstack.procs import Postgres


def test_pool_exhausted_is_a_quick_503(jesh_postgres: Postgres) -> None:
    settings = ServiceSettings(db_pool_timeout_seconds=0.5)
    engine = make_engine(
        jesh_postgres.url(), pool_size=1, max_overflow=0, pool_timeout=settings.db_pool_timeout_seconds
    )
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/work")
    def work() -> dict[str, int]:
        with engine.connect() as conn:
            return {"one": conn.execute(text("SELECT 1")).scalar_one()}

    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/work").json() == {"one": 1}
    held = engine.connect()  # the only connection, busy elsewhere
    try:
        started = time.monotonic()
        r = client.get("/work")
        elapsed = time.monotonic() - started
    finally:
        held.close()
        engine.dispose()
    assert r.status_code == 503, r.text
    assert r.json() == {"success": False, "message": "Service busy, please retry"}
    assert r.headers["retry-after"] == "1"
    assert elapsed < 3, elapsed


def test_the_service_names_its_connections(jesh_postgres: Postgres) -> None:
    """pg_stat_activity says which service holds a session (an operator's first question about a lock)."""
    engine = make_engine(jesh_postgres.url(), pool_size=1, application_name="booking")
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")) \
                == "booking"
    finally:
        engine.dispose()
