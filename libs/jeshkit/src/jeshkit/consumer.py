"""Idempotent JetStream consumer: one transaction per message, inbox row included, ack after commit."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from jeshkit.logs import request_id_var
from jeshkit.outbox import Event, subject_for
from jeshkit.tasks import raise_if_cancelling

log = logging.getLogger("jeshkit.consumer")

class PoisonEvent(Exception):
    """Raised by a handler for an event that can never be applied (e.g. a required field missing):
    it is parked in dead_letter at once instead of being retried."""


# A handler applies one event inside the given session; it must not commit.
Handler = Callable[[Session, Event], None]


class EventConsumer:
    """A durable pull consumer shared by all replicas of one service (each message goes to one of them)."""

    ack_wait_seconds = 30.0

    def __init__(
        self,
        *,
        name: str,
        handlers: Mapping[str, Handler],
        session_factory: sessionmaker[Session],
        messaging: Any,
        max_deliveries: int,
    ) -> None:
        self.name = name
        self.handlers = dict(handlers)
        self._session_factory = session_factory
        self._messaging = messaging
        self._max_deliveries = max_deliveries

    def consumer_config(self) -> ConsumerConfig:
        prefix = self._messaging.settings.events_subject_prefix
        return ConsumerConfig(
            durable_name=self.name,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_seconds,
            max_ack_pending=1000,
            filter_subjects=sorted({subject_for(prefix, t.split(".v")[0]) for t in self.handlers}),
        )

    def handler_for(self, event: Event) -> Handler | None:
        """Handlers are keyed "Type" (version 1) or "Type.vN"; an unknown version is never guessed at."""
        versioned = self.handlers.get(f"{event.type}.v{event.version}")
        if versioned is not None or event.version != 1:
            return versioned
        return self.handlers.get(event.type)

    async def run(self) -> None:
        while True:
            try:
                sub = await self._subscribe()
                while True:
                    raise_if_cancelling()
                    try:
                        # One at a time: nats-py's fetch of N, when it has to wait, holds the first message
                        # until N arrive or the timeout passes; fetching one hands it over the moment it comes.
                        msgs = await sub.fetch(1, timeout=2)
                    except TimeoutError:
                        continue
                    for msg in msgs:
                        await self.handle(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS away or restarting: resubscribe shortly
                raise_if_cancelling()
                log.warning("consumer %s interrupted, resubscribing: %s", self.name, exc)
                await asyncio.sleep(1.0)

    async def _subscribe(self) -> Any:
        js = await self._messaging.wait_jetstream()
        stream = self._messaging.settings.events_stream
        config = self.consumer_config()
        try:
            await js.add_consumer(stream, config=config)
        except Exception:  # noqa: BLE001 - exists with another filter: update it in place
            await js.update_consumer(stream, config=config)
        return await js.pull_subscribe_bind(durable=self.name, stream=stream)

    async def handle(self, msg: Any) -> None:
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        request_id_var.set((msg.headers or {}).get("X-Request-Id"))
        try:
            event = Event.from_dict(json.loads(msg.data))
        except ValueError as exc:  # json errors are ValueErrors too: poison, never retried
            await asyncio.to_thread(self._park, None, msg, f"malformed: {exc}", deliveries)
            await msg.term()
            return
        handler = self.handler_for(event)
        if handler is None:
            log.warning("consumer %s has no handler for %s v%d; skipped", self.name, event.type, event.version)
            await msg.ack()
            return
        try:
            applied = await asyncio.to_thread(self._apply, event, handler)
        except Exception as exc:  # noqa: BLE001 - transient until proven otherwise
            if isinstance(exc, PoisonEvent) or deliveries >= self._max_deliveries:
                log.error(
                    "consumer %s parks event %s (%s) after %d deliveries: %s",
                    self.name, event.id, event.type, deliveries, exc,
                )
                try:
                    await asyncio.to_thread(self._park, event, msg, repr(exc), deliveries)
                except Exception:  # noqa: BLE001 - cannot park now: let it come back later
                    await msg.nak(delay=30)
                    return
                await msg.term()
            else:
                log.warning("consumer %s failed on %s (%s), retrying: %s", self.name, event.id, event.type, exc)
                await msg.nak(delay=min(0.5 * 2 ** (deliveries - 1), 30.0))
            return
        if not applied:
            log.info("consumer %s skipped duplicate event %s", self.name, event.id)
        await msg.ack()

    def _apply(self, event: Event, handler: Handler) -> bool:
        with self._session_factory() as session:
            first_time = session.execute(
                text(
                    "INSERT INTO inbox (consumer, event_id) VALUES (:consumer, :event_id) "
                    "ON CONFLICT DO NOTHING RETURNING event_id"
                ),
                {"consumer": self.name, "event_id": event.id},
            ).first()
            if first_time is None:
                return False
            handler(session, event)
            session.commit()
            return True

    def _park(self, event: Event | None, msg: Any, error: str, deliveries: int) -> None:
        with self._session_factory() as session:
            session.execute(
                text(
                    "INSERT INTO dead_letter (consumer, event_id, subject, payload, error, deliveries) "
                    "VALUES (:consumer, :event_id, :subject, :payload, :error, :deliveries)"
                ),
                {
                    "consumer": self.name,
                    "event_id": event.id if event else None,
                    "subject": msg.subject,
                    "payload": msg.data.decode("utf-8", errors="replace"),
                    "error": error[:2000],
                    "deliveries": deliveries,
                },
            )
            session.commit()
