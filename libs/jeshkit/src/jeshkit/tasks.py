"""Helpers for the long-running asyncio workers."""

from __future__ import annotations

import asyncio
from typing import Any


def raise_if_cancelling() -> None:
    """nats-py can swallow a cancellation that lands as a fetch times out (Python 3.11); honour it here."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def in_thread(fn: Any, *args: Any, discard: Any = None) -> Any:
    """Run blocking work in a thread; a cancellation waits for the thread to finish, so that no two threads
    ever use the same connection at once. If the caller is cancelled but the work succeeded, its result is
    handed to `discard` (in a thread) so that nothing it holds, such as an open transaction, leaks."""
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        if discard is not None and not work.cancelled() and work.exception() is None:
            await asyncio.to_thread(discard, work.result())
        raise
