"""The real Traefik, with the repository's gateway/ configuration, in front of real services.

`start_gateway(services, replicas={service: n}, settings={service: {...}}, **knobs)` starts the named services
(real uvicorn servers on the real PostgreSQL and NATS of the test session, with those settings) and Traefik in
front of them, its environment holding the knobs (JESH_...). A service not named is given a closed port, as if
it were down.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from jeshstack.gateway import SERVICES, traefik_env, write_traefik_config
from jeshstack.procs import Traefik, free_port, wait_for
from jeshstack.pytest_plugin import LiveServer, truncate_all


@dataclass
class Replica:
    """One real uvicorn server of a service, which a test may stop and start again on the same port."""

    service: str
    port: int
    make_app: Callable[[], Any]
    server: LiveServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = LiveServer(self.make_app(), self.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@dataclass
class Gateway:
    url: str
    internal_url: str
    access_log: Path
    replicas: dict[str, list[Replica]]
    traefik: Traefik
    clients: list[httpx.Client] = field(default_factory=list)
    secure_url: str | None = None  # the HTTPS entry point (websecure), when started with secure=True

    def client(self, *, source_ip: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client of the gateway; source_ip binds its connections to another loopback address."""
        transport = httpx.HTTPTransport(local_address=source_ip) if source_ip else None
        client = httpx.Client(base_url=self.url, timeout=15, transport=transport, **kwargs)
        self.clients.append(client)
        return client

    def access_entries(self, request_id: str) -> list[dict[str, Any]]:
        """The JSON access-log lines of the requests that carried this X-Request-Id (Traefik writes a line
        once the answer is sent, so it may come a moment after the client has it)."""

        def entries() -> list[dict[str, Any]]:
            if not self.access_log.exists():
                return []
            lines = [json.loads(line) for line in self.access_log.read_text().splitlines() if line.strip()]
            return [e for e in lines if e.get("request_X-Request-Id") == request_id]

        try:
            return wait_for(entries, timeout=3, interval=0.02, what=f"the access log of {request_id}")
        except AssertionError:
            return []

    def requests_to(self, pool: str) -> int:
        """How many requests Traefik sent to a pool of replicas (e.g. "inventory-replicas"), by its metrics."""
        metrics = httpx.get(f"{self.internal_url}/metrics").text
        label = f'service="{pool}@file"'
        return sum(int(float(line.rsplit(" ", 1)[1])) for line in metrics.splitlines()
                   if line.startswith("traefik_service_requests_total{") and label in line)

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.traefik.stop()
        for replicas in self.replicas.values():
            for replica in replicas:
                replica.stop()


@pytest.fixture
def start_gateway(
    tmp_path: Path, service_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Gateway]]:
    # The knobs under test come from the test alone, never from the developer's shell.
    for name in list(os.environ):
        if name.startswith("JESH_"):
            monkeypatch.delenv(name)
    started: list[Gateway] = []

    def start(services: Sequence[str] = (), *, replicas: Mapping[str, int] | None = None,
              settings: Mapping[str, Mapping[str, Any]] | None = None, secure: bool = False, **knobs: str) -> Gateway:
        replicas_by_service: dict[str, list[Replica]] = {}
        urls: dict[str, list[str]] = {}
        for service in SERVICES:
            if service not in services:
                urls[service] = [f"http://127.0.0.1:{free_port()}"]  # nobody listens there
                continue
            # HTTP only: the outbox relay, the consumer and the periodic jobs have nothing to do with the gateway.
            overrides = dict((settings or {}).get(service, {}))
            service_config = service_settings(service, run_workers=False, **overrides)
            truncate_all(service_config.database_url)  # e.g. auth's rate buckets from an earlier test
            module = importlib.import_module(f"{service}.app")
            pool = [Replica(service, free_port(), lambda m=module, s=service_config: m.create_app(s))
                    for _ in range((replicas or {}).get(service, 1))]
            for replica in pool:
                replica.start()
            replicas_by_service[service] = pool
            urls[service] = [replica.url for replica in pool]
        web_port, internal_port = free_port(), free_port()
        secure_port = free_port() if secure else None
        log_dir = tmp_path / f"logs-{web_port}"
        config = write_traefik_config(tmp_path / f"state-{web_port}", web_port=web_port,
                                      internal_port=internal_port, log_dir=log_dir, secure_port=secure_port)
        traefik = Traefik(config, traefik_env(urls, knobs), log_dir / "traefik-stdout.log")
        gateway = Gateway(f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{internal_port}",
                          log_dir / "traefik-access.log", replicas_by_service, traefik,
                          secure_url=f"https://127.0.0.1:{secure_port}" if secure_port else None)
        started.append(gateway)
        traefik.start(f"{gateway.internal_url}/ping")
        # /ping answers before the file provider's routers are in place; until then Traefik answers its own
        # plain-text 404. Wait for the catch-all router's JSON one.
        wait_for(lambda: httpx.get(f"{gateway.url}/api/_gateway_ready").headers.get("content-type", "")
                   .startswith("application/json"), timeout=15, what="the gateway's routers", tolerate=(Exception,))
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


def _assert_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["message"], str) and body["message"]
    return dict(body)


@pytest.fixture
def envelope() -> Callable[[httpx.Response, int], dict[str, Any]]:
    """envelope(response, status): asserts the contract's JSON error envelope with that status; gives the body."""
    return _assert_envelope
