"""Calls to peer services' internal endpoints (one client per process, request id passed on), and the one way
to keep a local copy of another service's facts, fetched on a miss (`fetch_on_miss`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from jeshkit.errors import UpstreamUnavailable
from jeshkit.logs import current_request_id
from jeshkit.tracing import TracingTransport, is_enabled

log = logging.getLogger("jeshkit.peers")

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


def _add_request_id(request: httpx.Request) -> None:
    request_id = current_request_id()
    if request_id and "x-request-id" not in request.headers:
        request.headers["X-Request-Id"] = request_id


def make_http_client(timeout: float = 5.0) -> httpx.Client:
    transport = TracingTransport() if is_enabled() else None  # each call a span, traceparent sent along
    return httpx.Client(timeout=timeout, event_hooks={"request": [_add_request_id]}, transport=transport)


def fetch_json(client: httpx.Client, url: str, *, peer: str) -> dict[str, Any] | None:
    """GET a peer's JSON document; None when the peer says 404; 503 when the peer cannot answer."""
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        log.warning("%s unreachable at %s: %s", peer, url, exc)
        raise UpstreamUnavailable(f"The {peer} service is unavailable, please retry", 503) from None
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        log.warning("%s answered %s for %s", peer, response.status_code, url)
        raise UpstreamUnavailable(f"The {peer} service is unavailable, please retry", 503)
    try:
        body = response.json()
    except ValueError:  # a proxy's error page with a 200, say
        log.warning("%s answered 200 without JSON for %s", peer, url)
        raise UpstreamUnavailable(f"The {peer} service is unavailable, please retry", 503) from None
    return body.get("data", body) if isinstance(body, dict) else None


@dataclass(frozen=True)
class Peer:
    """A peer service's internal API: its name (for messages), base URL and the process's HTTP client."""

    name: str
    base_url: str
    http: httpx.Client

    def get(self, path: str) -> dict[str, Any] | None:
        """GET base_url + path: the `data` of the answer, None on 404, a 503 AppError when the peer cannot answer."""
        return fetch_json(self.http, f"{self.base_url.rstrip('/')}{path}", peer=self.name)

    def get_as(self, path: str, model: type[M]) -> M | None:
        """get(), validated with `model`; an answer that does not fit is the peer failing (503), never a 500."""
        data = self.get(path)
        if data is None:
            return None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            log.error("%s answered an unusable document for %s: %s", self.name, path, exc)
            raise UpstreamUnavailable(f"The {self.name} service is unavailable, please retry", 503) from None


def fetch_on_miss(
    session: Session,
    *,
    load: Callable[[], R | None],
    fetch: Callable[[], M | None],
    save: Callable[[M], None],
) -> R | None:
    """The local copy of another service's fact, fetched from that service when this one has not heard of it.

    `load()` reads the copy (it may lock it); on a miss the session's transaction is ended *before* `fetch()`
    asks the peer (typically `lambda: peer.get_as(path, Model)`), so that no transaction or row lock is held
    across the call; what the peer said is passed to `save()` and committed (a fact learnt is kept, whatever
    becomes of the request), then `load()` runs again in a new transaction. None when the peer does not know it
    either. Call it before the use case changes anything: a pending change would be lost with the rollback.
    """
    found = load()
    if found is not None:
        return found
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("fetch_on_miss must run before the use case changes anything (it ends the transaction)")
    session.rollback()
    fact = fetch()
    if fact is None:
        return None
    save(fact)
    session.commit()
    return load()
