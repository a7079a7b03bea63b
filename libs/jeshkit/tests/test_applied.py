"""jeshkit.applied's Announcements on their own (no NATS): a wait ends with the announcement, whether it comes before
or after; a wait that runs out makes the service *behind*, and requests then do not wait for it until it announces
anything (its consumer is at work again), or BEHIND_SECONDS pass."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from jeshkit import applied
from jeshkit.applied import Announcements


def announce(announcements: Announcements, *ids: str) -> None:
    announcements.heard(json.dumps(list(ids)).encode())


async def timed(coroutine: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = await coroutine
    return result, time.monotonic() - started


@pytest.fixture(autouse=True)
def short_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(applied, "TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(applied, "BEHIND_SECONDS", 5.0)


def test_a_wait_ends_with_the_announcement_made_before_or_after_it_began() -> None:
    async def scenario() -> None:
        announcements = Announcements()
        announce(announcements, "a")
        assert await announcements.wait(["a"]) is True  # heard before the request waited
        asyncio.get_running_loop().call_later(0.05, announce, announcements, "b", "c")
        done, took = await timed(announcements.wait(["b", "c", "b"]))
        assert done is True and took < 0.25

    asyncio.run(scenario())


def test_after_a_wait_runs_out_requests_do_not_wait_until_the_service_announces_again() -> None:
    async def scenario() -> None:
        announcements = Announcements()
        announce(announcements, "applied before")
        with pytest.raises(TimeoutError):
            await announcements.wait(["missed"])  # the service's consumer is away
        assert announcements.behind

        done, took = await timed(announcements.wait(["next"]))
        assert (done, took < 0.05) == (False, True)  # answered at once, not after another 0.3 s
        assert await announcements.wait(["applied before"]) is True  # announced already: no need to wait

        announce(announcements, "missed")  # its consumer is at work again (catching up): requests wait again,
        assert not announcements.behind  # so that a read right after them is fresh once it has caught up
        asyncio.get_running_loop().call_later(0.05, announce, announcements, "later")
        done, took = await timed(announcements.wait(["later"]))
        assert done is True and 0.04 < took < 0.25  # waited for it

    asyncio.run(scenario())


def test_behind_lasts_behind_seconds_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    # An announcement lost on its way (NATS reconnecting) must not stop the waits for good.
    monkeypatch.setattr(applied, "BEHIND_SECONDS", 0.2)

    async def scenario() -> None:
        announcements = Announcements()
        with pytest.raises(TimeoutError):
            await announcements.wait(["lost"])
        assert await announcements.wait(["x"]) is False
        await asyncio.sleep(0.25)
        assert not announcements.behind
        with pytest.raises(TimeoutError):  # waits again, and runs out again
            await announcements.wait(["y"])
        assert announcements.behind

    asyncio.run(scenario())
