"""Calls to peer services' internal endpoints (one client per process, request id passed on)."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from jeshkit.errors import UpstreamUnavailable
from jeshkit.logs import current_request_id

log = logging.getLogger("jeshkit.peers")


def _add_request_id(request: httpx.Request) -> None:
    request_id = current_request_id()
    if request_id and "x-request-id" not in request.headers:
        request.headers["X-Request-Id"] = request_id


def make_http_client(timeout: float = 5.0) -> httpx.Client:
    return httpx.Client(timeout=timeout, event_hooks={"request": [_add_request_id]})


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
    body = response.json()
    return body.get("data", body) if isinstance(body, dict) else None
