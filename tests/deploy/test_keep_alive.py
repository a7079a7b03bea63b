"""Services keep an idle connection open longer than the gateway does: otherwise Traefik now and then sends a request
on a connection uvicorn is closing, and a POST (never retried) comes back 502."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from jeshstack.stack import KEEP_ALIVE_SECONDS

REPO = Path(__file__).resolve().parents[2]


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)?", text.strip())
    assert match, text
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def gateway_idle_seconds() -> float:
    config = yaml.safe_load((REPO / "gateway" / "traefik.yml").read_text())
    return _seconds(str(config["serversTransport"]["forwardingTimeouts"]["idleConnTimeout"]))


def test_the_local_stack_keeps_connections_longer_than_the_gateway():
    assert float(KEEP_ALIVE_SECONDS) > gateway_idle_seconds()


def test_the_image_keeps_connections_longer_than_the_gateway():
    cmd = (REPO / "Dockerfile").read_text().split("\nCMD ", 1)[1]
    keep_alive = re.search(r"--timeout-keep-alive (\d+)", cmd)
    assert keep_alive, "the Dockerfile's CMD sets no --timeout-keep-alive (uvicorn's default is 5 s)"
    assert float(keep_alive.group(1)) > gateway_idle_seconds()
