"""Helpers for the long-running asyncio workers."""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """nats-py can swallow a cancellation that lands as a fetch times out (Python 3.11); honour it here."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
