"""Reactions of the auth service to other services' events (idempotent; run inside the consumer's transaction)."""

from jeshkit.consumer import Handlers

HANDLERS: Handlers = {}
