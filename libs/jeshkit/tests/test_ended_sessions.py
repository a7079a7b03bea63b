"""Ended sessions: every process follows SessionsEnded on the real stream (from its start, and after NATS comes
back), and its TokenVerifier then refuses the account's access tokens issued before, remembered or not."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jeshkit.db import make_engine, make_session_factory
from jeshkit.errors import Unauthorized
from jeshkit.messaging import Messaging
from jeshkit.security import TokenVerifier
from jeshkit.sessions import EndedSessions, apply_message
from jeshkit.settings import ServiceSettings
from jeshstack.procs import Nats, Postgres
from jeshstack.testing import EventBus
from libs.jeshkit.tests.test_security import CountingKeys


def ended_at(before: datetime, user_id: int = 7, reason: str = "signed_out") -> dict[str, Any]:
    return {"user_id": user_id, "before": before.isoformat(), "reason": reason}


def test_a_token_issued_before_the_end_is_refused_remembered_or_not_and_a_later_one_is_not() -> None:
    keys = CountingKeys()
    verifier = TokenVerifier("http://unused", issuer="jesh-auth", audience="jesh-api", key_source=keys)
    now = datetime.now(UTC).replace(microsecond=123_000)  # auth's moments are to the millisecond
    old = keys.token(iat=now - timedelta(seconds=30))  # a whole second, as PyJWT writes a datetime
    at_the_end = keys.token(iat=now.timestamp())  # the new session auth starts at that moment
    other_user = keys.token(sub="8", iat=now - timedelta(seconds=30))
    assert asyncio.run(verifier.verify(old)).id == 7  # remembered from now on

    verifier.ended_sessions.end(7, now)

    for token in (old, keys.token(iat=now.timestamp() - 0.001)):  # remembered, and new to the verifier
        with pytest.raises(Unauthorized, match="Session ended; please log in again"):
            asyncio.run(verifier.verify(token))
    assert asyncio.run(verifier.verify(at_the_end)).id == 7
    assert asyncio.run(verifier.verify(other_user)).id == 8


def test_an_end_is_kept_at_its_latest_and_one_older_than_any_token_is_ignored() -> None:
    ended = EndedSessions()
    now = datetime.now(UTC)
    ended.end(7, now)
    ended.end(7, now - timedelta(minutes=5))  # an older event read later changes nothing
    ended.end(9, now - timedelta(days=2))

    at = round(now.timestamp() * 1000)
    assert ended.ended(7, at - 1)
    assert not ended.ended(7, at)
    assert not ended.ended(9, at - 3 * 86_400_000)


def test_a_message_that_is_not_a_sessions_ended_v1_changes_nothing() -> None:
    ended = EndedSessions()
    now = datetime.now(UTC)
    bad = [b"not json", b"[]", b'{"type": "SessionsEnded"}',
           EventBus("nats://unused").envelope("SessionsEnded", {"user_id": 7, "before": "yesterday",
                                                                "reason": "signed_out"}),
           EventBus("nats://unused").envelope("PasswordChanged", ended_at(now))]
    for payload in bad:
        apply_message(payload if isinstance(payload, bytes) else _json(payload), ended)

    assert not ended.ended(7, 0)


def ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _json(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_process_follows_the_stream_from_its_start_and_after_nats_comes_back(
    jesh_postgres: Postgres, jesh_nats: Nats, event_bus: EventBus
) -> None:
    engine = make_engine(jesh_postgres.ensure_database("kit_test"))  # never used: no workers, nothing committed
    factory = make_session_factory(engine)
    settings = ServiceSettings(service_name="kit", nats_url=jesh_nats.url)
    earlier = datetime.now(UTC)
    event_bus.publish("SessionsEnded", ended_at(earlier, user_id=7))  # before either process started
    first, second = EndedSessions(), EndedSessions()

    async def scenario() -> None:
        # Two processes of one service (API replicas: the workers make no difference): each follows on its own.
        processes = [Messaging(settings, engine, factory, ended_sessions=first),
                     Messaging(settings, engine, factory, ended_sessions=second)]
        for messaging in processes:
            await messaging.start(workers=False)
        try:
            since = ms(earlier)
            await _until(lambda: first.ended(7, since - 1) and second.ended(7, since - 1), 10, "the earlier end")
            later = datetime.now(UTC) + timedelta(seconds=2)
            await asyncio.to_thread(event_bus.publish, "SessionsEnded", ended_at(later, user_id=8))
            await _until(lambda: first.ended(8, ms(later) - 1) and second.ended(8, ms(later) - 1), 10,
                         "an end published meanwhile")

            await asyncio.to_thread(jesh_nats.stop)
            await asyncio.to_thread(jesh_nats.start)
            latest = datetime.now(UTC) + timedelta(seconds=4)
            await asyncio.to_thread(_publish_when_up, event_bus, ended_at(latest, user_id=9))
            await _until(lambda: first.ended(9, ms(latest) - 1) and second.ended(9, ms(latest) - 1), 30,
                         "an end published after a restart")
        finally:
            for messaging in processes:
                await messaging.stop()

    try:
        asyncio.run(scenario())
    finally:
        engine.dispose()
        if jesh_nats.proc is None:
            jesh_nats.start()


def _publish_when_up(bus: EventBus, data: dict[str, Any]) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            bus.publish("SessionsEnded", data)
            return
        except Exception:  # the stream not declared again yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
