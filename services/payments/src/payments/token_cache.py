"""A provider's access token as one process sees it: cached until shortly before it expires, fetched by one thread
at a time, and shared by every replica through a TokenStore (the database), so that a refresh happens once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

log = logging.getLogger("payments.token_cache")

TokenFetch = Callable[[], tuple[str, float]]
Answer = TypeVar("Answer")


class TokenStore(Protocol):
    """Where a provider's token lives (the database: payments.token_store). Daraja invalidates a token as soon as
    another is issued for the same app, so every replica must share one token, fetched by one of them at a time."""

    def obtain(self, fetch: TokenFetch, *, stale: str | None, margin: float) -> tuple[str, float]:
        """A token and the epoch second until which to use it; `stale` is a token the provider just refused."""
        ...


class SharedToken:
    """The current token; `forget(token)` after the provider refused it makes the next `get()` refresh it (once,
    whatever the number of threads and replicas that saw the refusal)."""

    def __init__(self, store: TokenStore, fetch: TokenFetch, *, margin: float) -> None:
        self._store = store
        self._fetch = fetch
        self._margin = margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._good_until = 0.0  # epoch seconds
        self._refused: str | None = None

    def get(self) -> str:
        token = self._token
        if token is not None and time.time() < self._good_until:
            return token
        with self._lock:
            if self._token is not None and time.time() < self._good_until:
                return self._token
            token, good_until = self._store.obtain(self._fetch, stale=self._refused, margin=self._margin)
            self._token, self._good_until, self._refused = token, good_until, None
            return token

    def forget(self, token: str) -> None:
        with self._lock:
            if self._token == token:  # another thread may hold a newer one already
                self._token = None
                self._refused = token

    def call(self, send: Callable[[str], Answer], *, refused: Callable[[Answer], bool], provider: str) -> Answer:
        """`send(token)`; when the provider refuses the token (`refused(answer)`), refresh it once and send again."""
        token = self.get()
        answer = send(token)
        if refused(answer):
            log.info("%s refused our access token, fetching a new one", provider)
            self.forget(token)
            answer = send(self.get())
        return answer
