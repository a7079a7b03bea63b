"""pytest fixtures: real PostgreSQL and NATS once per test session, a clean database per test.

Loaded by the repository's root conftest.py. No mocks of our own infrastructure.
"""

from __future__ import annotations

import collections
import importlib
import sys
import textwrap
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psycopg2.errorcodes import LOCK_NOT_AVAILABLE
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from jeshstack.procs import Nats, Postgres, free_port
from jeshstack.stack import run_migrations
from jeshstack.testing import EventBus, LogsSince, SigningKeys

TRUNCATE_LOCK_TIMEOUT = "30s"
RECENT_TESTS: collections.deque[str] = collections.deque(maxlen=12)  # this process's last tests, newest last


def truncate_all(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            ).scalars().all()
            if tables:
                # A connection left open by an earlier test would block this forever: fail loudly instead.
                conn.execute(text(f"SET LOCAL lock_timeout = '{TRUNCATE_LOCK_TIMEOUT}'"))
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    except OperationalError as error:
        if getattr(error.orig, "pgcode", None) != LOCK_NOT_AVAILABLE:
            raise
        raise RuntimeError(f"TRUNCATE of the test database waited {TRUNCATE_LOCK_TIMEOUT} for a lock; "
                           f"who held it:\n{_lock_holders(engine)}") from error
    finally:
        engine.dispose()


def _lock_holders(engine: Engine) -> str:
    """The other sessions on the database with the locks they hold, this process's threads and its last tests: what
    a lock timeout in the set-up of a test needs to say so that the one that left a transaction open is found."""
    with engine.connect() as conn:
        sessions = conn.execute(text(
            "SELECT a.pid, a.application_name, a.client_port, a.state, a.xact_start, a.state_change,"
            " left(a.query, 300) AS query,"
            " (SELECT string_agg(DISTINCT coalesce(c.relname, l.locktype) || ':' || l.mode, ', ')"
            "  FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation WHERE l.pid = a.pid AND l.granted) AS locks"
            " FROM pg_stat_activity a WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
            " ORDER BY a.xact_start NULLS LAST")).mappings().all()
    lines = ["sessions:"] + [f"  {dict(row)}" for row in sessions]
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    lines.append("threads of this process:")
    for ident, frame in sys._current_frames().items():
        stack = "".join(traceback.format_stack(frame, limit=8))
        lines.append(f"  -- {names.get(ident, ident)}\n{textwrap.indent(stack, '    ')}")
    lines.append("this process's last tests: " + ", ".join(RECENT_TESTS))
    return "\n".join(lines)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    RECENT_TESTS.append(item.nodeid)


@pytest.fixture(scope="session")
def jesh_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    root = tmp_path_factory.mktemp("postgres")
    server = Postgres(root / "data", free_port())
    server.init()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def jesh_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nats]:
    root = tmp_path_factory.mktemp("nats")
    server = Nats(root / "store", free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigningKeys]:
    keys = SigningKeys(tmp_path_factory.mktemp("keys"))
    keys.serve()
    yield keys
    keys.close()


@pytest.fixture(scope="session")
def migrated_databases(jesh_postgres: Postgres) -> Callable[[str], str]:
    """service name -> URL of its test database, migrated to head once per session."""
    done: dict[str, str] = {}

    def get(service: str) -> str:
        if service not in done:
            url = jesh_postgres.ensure_database(f"{service}_test")
            run_migrations(service, url)
            done[service] = url
        return done[service]

    return get


@pytest.fixture
def service_db(request: pytest.FixtureRequest, migrated_databases: Callable[[str], str]) -> Iterator[Any]:
    """An engine on the migrated test database of the service whose tests ask (services/<name>/tests/...)."""
    parts = request.path.parts
    if "services" not in parts:
        raise RuntimeError("service_db is for the tests under services/<name>/tests")
    engine = create_engine(migrated_databases(parts[parts.index("services") + 1]))
    yield engine
    engine.dispose()


@pytest.fixture
def event_bus(jesh_nats: Nats) -> EventBus:
    bus = EventBus(jesh_nats.url)
    bus.reset()
    return bus


@pytest.fixture
def service_settings(
    migrated_databases: Callable[[str], str], jesh_nats: Nats, signing_keys: SigningKeys
) -> Callable[..., Any]:
    """service name (+ overrides) -> that service's Settings pointing at the test infrastructure."""

    def make(service: str, **overrides: Any) -> Any:
        settings_cls = importlib.import_module(f"{service}.settings").Settings
        values: dict[str, Any] = {
            "database_url": migrated_databases(service),
            "nats_url": jesh_nats.url,
            "auth_jwks_url": signing_keys.jwks_url,
            "environment": "test",
        }
        values.update(overrides)
        return settings_cls(**values)

    return make


@pytest.fixture
def make_service(service_settings: Callable[..., Any], event_bus: EventBus) -> Iterator[Callable[..., Any]]:
    """Start a service in-process (lifespan included: relay, consumer, jobs) and give a TestClient.

    Its database is emptied the first time it is made in a test; calling it twice for the same service
    gives a second replica on the same database.
    """
    from fastapi.testclient import TestClient

    cleaned: set[str] = set()
    started: list[TestClient] = []
    servers: list[LiveServer] = []

    def make(service: str, *, serve: bool = False, **overrides: Any) -> Any:
        """serve=False: an in-process TestClient. serve=True: a real uvicorn on a free port (for callers
        that must reach the service over HTTP, e.g. the Daraja simulator's callback); returns an
        httpx.Client whose base_url is the server and whose `.port` attribute is its port."""
        port = free_port() if serve else None
        if serve and "public_base_url" not in overrides:
            settings_fields = importlib.import_module(f"{service}.settings").Settings.model_fields
            if "public_base_url" in settings_fields:
                overrides["public_base_url"] = f"http://127.0.0.1:{port}"
        settings = service_settings(service, **overrides)
        if service not in cleaned:
            truncate_all(settings.database_url)
            cleaned.add(service)
        app = importlib.import_module(f"{service}.app").create_app(settings)
        if serve:
            assert port is not None
            server = LiveServer(app, port)
            servers.append(server)
            return server.client
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        started.append(client)
        return client

    yield make
    for client in reversed(started):
        client.__exit__(None, None, None)
    for server in reversed(servers):
        server.stop()


class LiveServer:
    """A real uvicorn server in a background thread, on a loopback port."""

    def __init__(self, app: Any, port: int) -> None:
        import threading

        import httpx
        import uvicorn

        self.port = port
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        from jeshstack.procs import wait_for

        # A server that cannot start (its port taken) ends its thread: said at once, not after the 30 s.
        wait_for(lambda: self.server.started or not self.thread.is_alive(), timeout=30, what=f"uvicorn on {port}",
                 tolerate=(Exception,))
        if not self.server.started:
            raise RuntimeError(f"uvicorn on {port} did not start (its thread's error is in the warnings)")
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        self.client.port = port  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="session")
def jesh_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The whole stack as processes (Traefik included) on free ports, once per test session.

    Booking, payments, billing and notifications run as two replicas each, as they may in production.
    """
    from jeshstack.stack import Stack, StackConfig

    stack = Stack(
        StackConfig(
            state_dir=tmp_path_factory.mktemp("stack"),
            gateway_port=free_port(),
            replicas={"booking": 2, "payments": 2, "billing": 2, "notifications": 2},
            env={
                "BOOKING_HOLD_SECONDS": "8",
                "PAYMENT_RECONCILE_AFTER_SECONDS": "5",
                "DARAJA_SIM_CALLBACK_DELAY_SECONDS": "0.2",
                "DARAJA_SIM_SLOW_CALLBACK_DELAY_SECONDS": "2",
                "JESH_RATE_LIMIT_AUTH_AVERAGE": "1000",
                "JESH_RATE_LIMIT_AUTH_BURST": "1000",
                "NOTIFY_QUIET_HOURS": "",  # the tests must not depend on the hour they run at
                "NOTIFY_RETRY_BASE_SECONDS": "1",
                "NOTIFY_RETRY_MAX_SECONDS": "4",
                "STREAM_ERASURE_INTERVAL_SECONDS": "3",  # an erasure reaches the stream within a test's wait
            },
        )
    )
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    stop = stack.start_supervisor_thread()
    yield stack
    stop.set()
    stack.stop()


@pytest.fixture
def spans() -> Iterator[Any]:
    """Tracing on (jeshkit.tracing) for the services and middleware this test starts, every finished span kept in
    memory: an opentelemetry InMemorySpanExporter (the SDK is imported only by the tests that ask for it)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from jeshkit import tracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    yield exporter
    tracing.use_provider(None)
    provider.shutdown()


# --- a failed test against the whole stack shows what the stack logged meanwhile -----------------------------------
LOGS = pytest.StashKey[LogsSince]()
LOG_TAIL_LINES = 40


def _stack_logs(item: pytest.Item) -> Any:
    stack = getattr(item, "funcargs", {}).get("jesh_stack")
    return getattr(stack, "log_dir", None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Where each of the stack's log files ended when the test body started (the stack's logs outlive nothing:
    they go with the run's temporary folder)."""
    log_dir = _stack_logs(item)
    if log_dir is not None:
        item.stash[LOGS] = LogsSince(log_dir)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test body gets a "stack logs" section: the last lines each log file gained during the test."""
    outcome = yield
    report = outcome.get_result()
    logs = item.stash.get(LOGS, None)
    if call.when != "call" or not report.failed or logs is None:
        return
    parts = []
    for path, lines in logs.lines().items():
        if lines:
            shown = lines[-LOG_TAIL_LINES:]
            parts.append(f"== {path.name}: the last {len(shown)} of {len(lines)} lines written during the test\n"
                         + "\n".join(shown))
    if parts:
        report.sections.append(("stack logs", "\n".join(parts)))


# --- the whole-stack tests, each group on one worker ------------------------------------------------------------------
# The browser tests bring a stack of their own (tests/browser: portal_stack), the others share jesh_stack. Under
# `--dist loadgroup` (./jesh test) each of these two groups goes whole to one worker, so the two stacks run side by
# side and no third one starts; every other test goes alone to any worker (xdist hands out the largest units first:
# the two groups, then the lone tests to whichever worker is free). The groups are made here, by path:
# pytest-xdist 3.8's own loadgroup renames each item's `_nodeid` after its `xdist_group` mark, which pytest 9's
# `nodeid` no longer reads, so its groups never form.


def scope_of(nodeid: str) -> str:
    """What one worker runs together: a whole-stack group (the node id's path, relative to the repository as
    ./jesh test runs it, under tests/browser, or elsewhere under tests/ but tests/deploy), or else the test alone."""
    folders = nodeid.split("::", 1)[0].split("/")
    if folders[0] != "tests" or folders[1] == "deploy":  # tests/deploy starts what it needs itself
        return nodeid
    return "browser" if folders[1] == "browser" else "stack"


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # optional: the hook exists only with xdist loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None  # xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class StackGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return StackGroups(config, log)
