"""The process's one NATS connection, the stream declaration, and the lifecycle of the background workers
(outbox relay, consumer, the periodic jobs of jeshkit.jobs)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import nats
from nats.js.api import StorageType, StreamConfig
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jeshkit import applied
from jeshkit.consumer import LOOP_LOCK_TIMEOUT_MS, LOOP_STATEMENT_TIMEOUT_MS, EventConsumer, Handlers
from jeshkit.db import make_engine, make_session_factory
from jeshkit.errors import UpstreamUnavailable
from jeshkit.jobs import PeriodicJob, run_periodically
from jeshkit.outbox import RELAY
from jeshkit.relay import OutboxRelay
from jeshkit.retention import prune_messaging
from jeshkit.sessions import EndedSessions, SessionsFollower
from jeshkit.settings import ServiceSettings

log = logging.getLogger("jeshkit.messaging")
T = TypeVar("T")


def redact_url(url: str) -> str:
    """The URL without its credentials, for logs."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url


async def ensure_stream(js: Any, settings: ServiceSettings) -> None:
    """Declare the events stream with its limits; an existing stream is updated to the configured limits."""
    config = StreamConfig(
        name=settings.events_stream,
        subjects=[f"{settings.events_subject_prefix}.>"],
        storage=StorageType.FILE,
        duplicate_window=settings.events_duplicate_window_seconds,
        max_age=settings.events_max_age_seconds,
        max_bytes=settings.events_max_bytes,
        num_replicas=settings.events_stream_replicas,
    )
    try:
        info = await js.stream_info(settings.events_stream)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            return
        except nats.js.errors.BadRequestError:
            info = await js.stream_info(settings.events_stream)  # another replica created it first
    current = info.config
    if (current.max_age, current.max_bytes, current.duplicate_window) != (
        config.max_age, config.max_bytes, config.duplicate_window
    ):
        log.info(
            "updating stream %s limits: max_age %ss, max_bytes %s, duplicate_window %ss",
            config.name, config.max_age, config.max_bytes, config.duplicate_window,
        )
        await js.update_stream(dataclasses.replace(
            current, max_age=config.max_age, max_bytes=config.max_bytes, duplicate_window=config.duplicate_window
        ))


class Messaging:
    """Owns the NATS connection, the relay, the consumer and the periodic jobs of one process."""

    def __init__(
        self,
        settings: ServiceSettings,
        engine: Engine,
        session_factory: sessionmaker[Session],
        *,
        handlers: Handlers | None = None,
        jobs: list[PeriodicJob] | None = None,
        ended_sessions: EndedSessions | None = None,
        follows: Sequence[str] = (),
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._session_factory = session_factory
        self._handlers = dict(handlers or {})
        # Every service prunes its messaging tables (jeshkit.retention).
        self._jobs = [*list(jobs or []), PeriodicJob(
            "prune-messaging", settings.retention_interval_seconds, lambda factory: prune_messaging(factory, settings)
        )]
        self.nc: Any = None
        self._js: Any = None
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._loop_engine: Engine | None = None
        self.relay: OutboxRelay | None = None
        self._ended_sessions = ended_sessions
        self._sessions_follower: SessionsFollower | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # The services whose announcements of applied events this process follows (jeshkit.applied).
        self._following = {service: applied.Announcements() for service in follows}
        # What the process does after its consumer committed new events, before it announces them: the inventory
        # forgets its cached unit lists, so that the waiting request's customer reads the change at once from it.
        self.after_applied: Callable[[], None] | None = None

    # --- connection -----------------------------------------------------------------------------
    def jetstream(self) -> Any:
        if self.nc is None or not self.nc.is_connected:
            return None
        return self._js

    async def wait_jetstream(self) -> Any:
        await self._connected.wait()
        return self._js

    def run_from_thread(self, work: Callable[[Any], Coroutine[Any, Any, T]], *, timeout: float) -> T:
        """For a periodic job (it runs in a worker thread): `work(js)` on this process's event loop, waited for.
        Raises UpstreamUnavailable when NATS is not connected, TimeoutError past `timeout`."""
        js = self.jetstream()
        if js is None or self._loop is None:
            raise UpstreamUnavailable("NATS is unavailable", 503)
        future = asyncio.run_coroutine_threadsafe(work(js), self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()  # not left running on the loop after its caller gave up
            raise

    @property
    def is_connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def _connect_forever(self) -> None:
        delay = 0.2
        while True:
            try:
                self.nc = await nats.connect(
                    self.settings.nats_url,
                    name=self.settings.service_name,
                    connect_timeout=2,
                    reconnect_time_wait=0.5,
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                    drain_timeout=1,  # at shutdown the workers are gone: nothing worth waiting 30 s for
                    error_cb=self._on_error,
                    reconnected_cb=self._on_reconnected,
                )
                self._js = self.nc.jetstream(timeout=5)
                await ensure_stream(self._js, self.settings)
                self._connected.set()
                log.info("connected to NATS at %s", redact_url(self.settings.nats_url))
                return
            except Exception as exc:  # noqa: BLE001 - NATS not there yet: keep trying, APIs keep answering
                log.warning("NATS unavailable (%s), retrying in %.1fs", exc, delay)
                if self.nc is not None:
                    try:
                        await self.nc.close()
                    except Exception:  # noqa: BLE001
                        pass
                    self.nc = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS: %s", exc)

    async def _on_reconnected(self) -> None:
        log.info("NATS reconnected")
        try:
            await ensure_stream(self._js, self.settings)
        except Exception as exc:  # noqa: BLE001
            log.warning("stream check after reconnect failed: %s", exc)
        if self.relay is not None:
            self.relay.wake()
        if self._sessions_follower is not None:  # what was published while this process was away
            self._tasks.append(asyncio.create_task(self._sessions_follower.catch_up(), name="ended-sessions-catch-up"))

    # --- workers --------------------------------------------------------------------------------
    async def start(self, *, workers: bool) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks.append(asyncio.create_task(self._connect_forever(), name="nats-connect"))
        # Every process publishes what its own commits stage, at once: every session of the process hands those rows
        # to the relay. The relay's sweep (the safety net for rows a dead process or a failed publication left) is a
        # worker, as are the consumer and the periodic jobs.
        self.relay = OutboxRelay(self._engine, self, max_attempts=self.settings.outbox_max_attempts)
        self._session_factory.kw.setdefault("info", {})[RELAY] = self.relay
        if self._ended_sessions is not None:  # every process verifies tokens: every process follows
            self._tasks.append(asyncio.create_task(self._follow_ended_sessions(self._ended_sessions),
                                                   name="ended-sessions"))
        if self._following:  # every replica: a request waiting may come to any
            self._tasks.append(asyncio.create_task(self._follow_applied(), name="applied"))
        if not workers:
            return
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        if self._handlers:
            # The consumer's transactions on the event loop: one connection of their own, with short bounds.
            self._loop_engine = make_engine(
                self._engine.url, pool_size=1, statement_timeout_ms=LOOP_STATEMENT_TIMEOUT_MS,
                lock_timeout_ms=LOOP_LOCK_TIMEOUT_MS, application_name=f"{self.settings.service_name}-consumer",
            )
            loop_sessions = make_session_factory(self._loop_engine)
            loop_sessions.kw["info"] = self._session_factory.kw["info"]  # the same: service, subject prefix, relay
            consumer = EventConsumer(
                name=self.settings.service_name,
                handlers=self._handlers,
                session_factory=self._session_factory,
                messaging=self,
                max_deliveries=self.settings.consumer_max_deliveries,
                retry_seconds=self.settings.consumer_retry_seconds,
                loop_session_factory=loop_sessions,
            )
            self._tasks.append(asyncio.create_task(consumer.run(), name="consumer"))
        for job in self._jobs:
            runner = run_periodically(job, self._session_factory)
            self._tasks.append(asyncio.create_task(runner, name=f"job-{job.name}"))

    async def _follow_ended_sessions(self, ended: EndedSessions) -> None:
        js = await self.wait_jetstream()
        follower = SessionsFollower(self.nc, js, self.settings.events_subject_prefix, ended)
        await follower.start()
        self._sessions_follower = follower

    # --- waiting for a service to apply what a commit published (jeshkit.applied) ---------------------
    def wait_applied(self, service: str, event_ids: list[str]) -> bool:
        """From a request's worker thread, right after its commit: wait until `service` has announced these events
        applied. True when it has; False, logged, past applied.TIMEOUT_SECONDS or without NATS; False at once while
        `service` is behind (a wait for it ran out lately: jeshkit.applied)."""
        if not event_ids:
            return True
        announcements = self._following.get(service)
        if announcements is None:
            raise RuntimeError(f"{self.settings.service_name} does not follow {service} (create_app's follows=)")
        if self.nc is None or not self.nc.is_connected or self._loop is None:
            log.warning("not waiting for %s to apply %d events (NATS unavailable)", service, len(event_ids))
            return False
        future = asyncio.run_coroutine_threadsafe(announcements.wait(event_ids), self._loop)
        try:
            done = future.result(applied.TIMEOUT_SECONDS + 1.0)
        except Exception:  # noqa: BLE001 - not within the timeout: the stream still brings them
            future.cancel()
            log.warning("%s has not applied %d events within %.0f s (the stream brings them); requests do not wait "
                        "for it until it has, for %.0f s at most", service, len(event_ids), applied.TIMEOUT_SECONDS,
                        applied.BEHIND_SECONDS)
            return False
        if not done:
            log.debug("not waiting for %s to apply %d events: it is behind", service, len(event_ids))
        return bool(done)

    async def announce_applied(self, consumer: str, event_ids: list[str], *, new: bool) -> None:
        """After a consumer's commit: run after_applied when it applied something new, then announce the ids."""
        if new and self.after_applied is not None:
            try:
                self.after_applied()
            except Exception:  # the events are applied all the same: announced, acked
                log.exception("after_applied failed")
        if not event_ids or self.nc is None or not self.nc.is_connected:
            return
        try:
            await self.nc.publish(applied.subject(self.settings.events_subject_prefix, consumer),
                                  applied.body(event_ids))
        except Exception as exc:  # noqa: BLE001 - a waiting request times out; nothing is lost
            log.warning("could not announce %d applied events: %s", len(event_ids), exc)

    async def _follow_applied(self) -> None:
        await self._connected.wait()
        for service, announcements in self._following.items():
            async def heard(msg: Any, announcements: applied.Announcements = announcements) -> None:
                announcements.heard(msg.data)

            await self.nc.subscribe(applied.subject(self.settings.events_subject_prefix, service), cb=heard)

    async def stop(self) -> None:
        # Cancel until every worker has ended: a library may swallow one cancellation.
        pending = {task for task in self._tasks if not task.done()}
        for _ in range(50):
            if not pending:
                break
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.2)
        if pending:
            log.error("workers still running at shutdown: %s", ", ".join(t.get_name() for t in pending))
        self._tasks.clear()
        if self._loop_engine is not None:
            self._loop_engine.dispose()
            self._loop_engine = None
        if self.relay is not None:
            self._session_factory.kw.get("info", {}).pop(RELAY, None)
            await self.relay.stop_publishing()
        if self.nc is not None:
            # Workers are gone and every fetched message was acked or nak'ed: nothing to drain for long.
            try:
                await asyncio.wait_for(self.nc.drain(), timeout=2.0)
            except Exception:  # noqa: BLE001 - drain timed out or the connection is already gone
                pass
            if not self.nc.is_closed:
                try:
                    await self.nc.close()
                except Exception:  # noqa: BLE001
                    pass
