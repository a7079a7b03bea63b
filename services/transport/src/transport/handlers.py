"""Reactions of the transport service to other services' events (idempotent; run inside the consumer's transaction)."""

from jeshkit.consumer import Handler

HANDLERS: dict[str, Handler] = {}
