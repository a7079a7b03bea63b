"""Background jobs, in one place: every periodic job of every service (and the kit's own, e.g. the retention of
the messaging tables) is a PeriodicJob, run by run_periodically() in each replica that runs workers."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jeshkit.tasks import raise_if_cancelling

log = logging.getLogger("jeshkit.jobs")


@dataclass(frozen=True)
class PeriodicJob:
    """A function run every `interval` seconds in a worker thread; it must claim its work with row locks."""

    name: str
    interval: float
    run: Callable[[sessionmaker[Session]], Any]


async def run_periodically(job: PeriodicJob, session_factory: sessionmaker[Session]) -> None:
    # A random start spreads replicas apart; row locks keep them from doing the same work.
    await asyncio.sleep(random.uniform(0, min(job.interval, 1.0)))
    while True:
        raise_if_cancelling()
        try:
            await asyncio.to_thread(job.run, session_factory)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("periodic job %s failed", job.name)
        await asyncio.sleep(job.interval)
