"""Test helpers: signing keys that mint access tokens, an event bus client, polling."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import jwt
import nats
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jeshstack.procs import wait_for  # noqa: F401 - the one polling helper, re-exported for the tests

T = TypeVar("T")


def serve_json(body: Callable[[], bytes]) -> ThreadingHTTPServer:
    """A loopback HTTP server, started, answering every GET with the JSON document `body()` gives at that moment (a
    peer's document, such as auth's JWKS). Stop it with .shutdown() and .server_close()."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = body()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class SigningKeys:
    """An Ed25519 key pair standing in for the auth service's; its JWKS is served from a file."""

    def __init__(self, folder: Path, *, issuer: str = "jesh-auth", audience: str = "jesh-api") -> None:
        self.private_key = Ed25519PrivateKey.generate()
        self.kid = uuid.uuid4().hex[:16]
        self.issuer = issuer
        self.audience = audience
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": "EdDSA", "use": "sig"})
        folder.mkdir(parents=True, exist_ok=True)
        self.jwks_path = folder / "jwks.json"
        self.jwks_path.write_text(json.dumps({"keys": [jwk]}))

        self._server: ThreadingHTTPServer | None = None

    def serve(self) -> None:
        """Serve the JWKS over HTTP on a loopback port, as the auth service does (PyJWT refuses file://)."""
        body = self.jwks_path.read_bytes()
        self._server = serve_json(lambda: body)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def jwks_url(self) -> str:
        if self._server is None:
            self.serve()
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"

    def token(self, user_id: int, role: str = "user", *, expires_in: int = 900, **overrides: Any) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "role": role,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + timedelta(seconds=expires_in),
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, user_id: int, role: str = "user") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, role)}"}


class EventBus:
    """Synchronous test access to the JetStream events stream."""

    def __init__(self, nats_url: str, *, stream: str = "JESH_EVENTS", prefix: str = "jesh.events") -> None:
        self.nats_url = nats_url
        self.stream = stream
        self.prefix = prefix

    def _run(self, coro_fn: Callable[[Any, Any], Any]) -> Any:
        async def main() -> Any:
            nc = await nats.connect(self.nats_url, connect_timeout=2, max_reconnect_attempts=1)
            try:
                return await coro_fn(nc, nc.jetstream(timeout=5))
            finally:
                await nc.close()

        return asyncio.run(main())

    def reset(self) -> None:
        """Delete the stream (and with it every consumer), so that a test starts with no history."""

        async def go(_: Any, js: Any) -> None:
            try:
                await js.delete_stream(self.stream)
            except nats.js.errors.NotFoundError:
                pass

        self._run(go)

    def envelope(self, event_type: str, data: dict[str, Any], *, event_id: str | None = None,
                 source: str = "test", version: int = 1, occurred_at: datetime | None = None) -> dict[str, Any]:
        return {
            "id": event_id or str(uuid.uuid4()),
            "type": event_type,
            "version": version,
            "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
            "source": source,
            "data": data,
        }

    def publish(self, event_type: str, data: dict[str, Any], *, event_id: str | None = None,
                source: str = "test", dedupe: bool = True, version: int = 1,
                occurred_at: datetime | None = None) -> dict[str, Any]:
        """Publish an event as a service's relay would. dedupe=False sends it again past JetStream's window;
        occurred_at dates it (an older event delivered late)."""
        env = self.envelope(event_type, data, event_id=event_id, source=source, version=version,
                            occurred_at=occurred_at)
        headers = {"Nats-Msg-Id": env["id"] if dedupe else uuid.uuid4().hex}

        async def go(_: Any, js: Any) -> None:
            from jeshkit.messaging import ensure_stream
            from jeshkit.settings import ServiceSettings

            await ensure_stream(js, ServiceSettings(events_stream=self.stream, events_subject_prefix=self.prefix))
            await js.publish(f"{self.prefix}.{event_type}", json.dumps(env).encode(), headers=headers)

        self._run(go)
        return env

    def announcements(self, service: str) -> Listener:
        """Record the ids `service`'s consumer announces applied (jeshkit.applied): `.heard`, in order."""
        from jeshkit import applied

        heard: list[str] = []

        async def received(nc: Any, msg: Any) -> None:
            heard.extend(json.loads(msg.data))

        return Listener(self.nats_url, [applied.subject(self.prefix, service)], received, heard)

    def stand_in_applied(self, service: str, kinds: list[str], *, delay: float = 0.0) -> Listener:
        """Stand in for `service`'s consumer: record each event of these kinds published (`.heard`, envelopes in
        order, each once: a relay may publish an event twice, which JetStream drops and this plain subscription
        sees) and, `delay` seconds after it came, announce it applied as the consumer would (jeshkit.applied);
        `.silent = True` stops announcing."""
        from jeshkit import applied

        heard: list[dict[str, Any]] = []

        async def received(nc: Any, msg: Any) -> None:
            envelope = json.loads(msg.data)
            if envelope["id"] not in {seen["id"] for seen in heard}:
                heard.append(envelope)
            if delay:
                await asyncio.sleep(delay)
            if not listener.silent:
                await nc.publish(applied.subject(self.prefix, service), applied.body([envelope["id"]]))

        listener = Listener(self.nats_url, [f"{self.prefix}.{kind}" for kind in kinds], received, heard)
        return listener

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Every event now in the stream (optionally of one type), oldest first."""

        async def go(_: Any, js: Any) -> list[dict[str, Any]]:
            subject = f"{self.prefix}.{event_type}" if event_type else f"{self.prefix}.>"
            try:
                info = await js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                return []
            if info.state.messages == 0:
                return []
            sub = await js.pull_subscribe(subject, stream=self.stream)
            out: list[dict[str, Any]] = []
            try:
                while True:
                    try:
                        msgs = await sub.fetch(100, timeout=0.5)
                    except TimeoutError:
                        break
                    for msg in msgs:
                        out.append(json.loads(msg.data))
                        await msg.ack()
            finally:
                await sub.unsubscribe()
            return out

        return list(self._run(go))


class Listener:
    """Plain NATS subscriptions of a test, in a thread of its own: `received(nc, msg)` runs for each message (each
    on its own task), and records what it likes in `.heard`; `.stop()` unsubscribes."""

    def __init__(self, nats_url: str, subjects: list[str], received: Callable[[Any, Any], Any],
                 heard: list[Any]) -> None:
        self.heard = heard
        self.silent = False
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[Any]] = set()

        async def listen() -> None:
            self._nc = await nats.connect(nats_url, connect_timeout=2)

            async def each(msg: Any) -> None:
                task = asyncio.create_task(received(self._nc, msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

            for subject in subjects:
                await self._nc.subscribe(subject, cb=each)
            await self._nc.flush()

        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(listen(), self._loop).result(10)

    def kinds(self) -> list[str]:
        return [envelope["type"] for envelope in self.heard]

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._nc.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def metric(client: Any, sample: str) -> float:
    """One sample of a service's GET /metrics as Prometheus would read it now, by its exact name and labels
    (`jesh_refunds_open{status="failed"}`); fails when the service does not export it."""
    for line in client.get("/metrics").text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    raise AssertionError(f"{sample} is not exported")


class LogsSince:
    """What the stack's log files (`*.log` in its log folder) gained since this was made: each file from where it
    ended then, a file made since from its start."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.start = {path.name: path.stat().st_size for path in log_dir.glob("*.log")}

    def lines(self) -> dict[Path, list[str]]:
        gained = {}
        for path in sorted(self.log_dir.glob("*.log")):
            with path.open("rb") as file:
                file.seek(self.start.get(path.name, 0))
                gained[path] = file.read().decode("utf-8", "replace").splitlines()
        return gained

