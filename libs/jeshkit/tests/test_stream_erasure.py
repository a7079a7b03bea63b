"""erase_from_stream: an erased person's personal events leave the real JetStream stream (their other events, and
other people's, stay), and what was deleted cannot be read back."""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import pytest

from jeshkit.stream_erasure import erase_from_stream
from jeshstack.procs import Nats
from jeshstack.testing import EventBus


def registered(user_id: int) -> dict[str, Any]:
    return {"user_id": user_id, "email": f"u{user_id}@example.co.ke", "name": "Wanjiku Kamau", "role": "user",
            "phone": f"25470000000{user_id}"}


def test_only_the_erased_person_s_personal_events_leave_the_stream(jesh_nats: Nats, event_bus: EventBus) -> None:
    event_bus.publish("UserRegistered", registered(7), source="auth")
    event_bus.publish("UserRegistered", registered(8), source="auth")
    event_bus.publish("UserUpdated", registered(7), source="auth")
    event_bus.publish("PaymentUnmatched", {
        "unmatched_id": 1, "amount": 700, "receipt": "TC24H7XK9Z", "account": "nothing", "reason": "unknown_account",
        "user_id": 7, "phone_number": "254700000007"}, source="payments")
    event_bus.publish("SessionsEnded", {"user_id": 7, "before": "2031-01-05T10:00:00+00:00",
                                        "reason": "signed_out"}, source="auth")  # not personal: it stays
    event_bus.publish("UserRegistered", {"not": "ours"}, source="test")  # no user_id: left alone

    async def erase(user_id: int) -> int:
        nc = await nats.connect(jesh_nats.url)
        try:
            return await erase_from_stream(nc.jetstream(), stream=event_bus.stream, prefix=event_bus.prefix,
                                           user_id=user_id)
        finally:
            await nc.close()

    assert asyncio.run(erase(7)) == 3
    left = [(e["type"], e["data"].get("user_id")) for e in event_bus.events()]
    assert left == [("UserRegistered", 8), ("SessionsEnded", 7), ("UserRegistered", None)]
    assert all("254700000007" not in str(e) for e in event_bus.events())
    assert asyncio.run(erase(7)) == 0  # again: nothing more, no error
    assert asyncio.run(erase(99)) == 0


def test_nats_away_is_an_error_for_the_caller_to_retry(jesh_nats: Nats, event_bus: EventBus) -> None:
    async def erase_closed() -> None:
        nc = await nats.connect(jesh_nats.url)
        js = nc.jetstream(timeout=1)
        await nc.close()
        await erase_from_stream(js, stream=event_bus.stream, prefix=event_bus.prefix, user_id=7)

    with pytest.raises(Exception):  # noqa: B017 - whichever error nats-py raises for a closed connection
        asyncio.run(erase_closed())


def test_a_job_s_call_into_the_event_loop_is_refused_without_nats_and_given_up_after_its_timeout(
    jesh_nats: Nats, event_bus: EventBus
) -> None:
    from jeshkit.db import make_engine, make_session_factory
    from jeshkit.errors import UpstreamUnavailable
    from jeshkit.messaging import Messaging
    from jeshkit.settings import ServiceSettings

    engine = make_engine("postgresql+psycopg2://unused@127.0.0.1:9/unused")  # never connected: no workers
    messaging = Messaging(ServiceSettings(service_name="kit", nats_url=jesh_nats.url), engine,
                          make_session_factory(engine))
    with pytest.raises(UpstreamUnavailable):  # not started: no NATS
        messaging.run_from_thread(lambda js: asyncio.sleep(0), timeout=1)
    stopped = asyncio.Event()

    async def slow(js: Any) -> None:
        try:
            await asyncio.sleep(30)
        finally:
            stopped.set()

    async def scenario() -> None:
        await messaging.start(workers=False)
        try:
            await asyncio.wait_for(messaging.wait_jetstream(), 10)
            assert await asyncio.to_thread(messaging.run_from_thread, _stream_names, timeout=5) == ["JESH_EVENTS"]
            with pytest.raises(TimeoutError):
                await asyncio.to_thread(messaging.run_from_thread, slow, timeout=0.2)
            await asyncio.wait_for(stopped.wait(), 2)  # cancelled, not left running
        finally:
            await messaging.stop()

    try:
        asyncio.run(scenario())
    finally:
        engine.dispose()


async def _stream_names(js: Any) -> list[str]:
    return [info.config.name for info in await js.streams_info()]
