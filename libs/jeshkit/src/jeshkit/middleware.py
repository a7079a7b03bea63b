"""Pure ASGI middleware shared by every service."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote

from jeshkit.errors import error_body
from jeshkit.logs import new_request_id, request_id_var

Scope = dict[str, Any]


BAD_TEXT = "must not contain NUL characters or unpaired surrogates"


def bad_text(value: str) -> bool:
    """A NUL (PostgreSQL refuses it in text) or a lone UTF-16 surrogate (no encoding can store it)."""
    if "\x00" in value:
        return True
    return not value.isascii() and any("\ud800" <= ch <= "\udfff" for ch in value)


def _bad_json_field(value: Any, where: str = "") -> str | None:
    """The dotted name of the first string (key or value) in a JSON document that bad_text() refuses."""
    if isinstance(value, str):
        return (where or "body") if bad_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if bad_text(str(key)):
                return where or "body"
            found = _bad_json_field(item, name)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _bad_json_field(item, f"{where}.{index}" if where else str(index))
            if found:
                return found
    return None


# Daraja's callbacks are answered 200 whatever arrives (the contract), never the 400 envelope: those routes read
# their raw body and check what they use themselves.
WEBHOOK_PATHS = re.compile(r"^/api/payments/(hooks/(stk|b2c)/|mpesa/callback/?$)")


class RequestMiddleware:
    """What every request goes through first, in one layer:

    - the request id: X-Request-Id from the caller (the gateway sets one) or a new one, in the logs' context and
      echoed on the answer;
    - input sanity: refuses, with the 400 envelope, text no service can store: a NUL character or a lone surrogate
      in the path, a query parameter or a JSON body (once here, for every route, instead of a 500 from the
      database). Daraja's callbacks (WEBHOOK_PATHS) are left to check what they read themselves;
    - the trailing slash: collection paths answer with and without it, never with a redirect."""

    max_checked_body = 8 * 1024 * 1024  # the gateway refuses bodies past 1 MiB long before this

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = b""
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                incoming = value  # the last one, if several
        text = incoming.decode("latin-1")
        request_id = text[:128] if text and text.isprintable() else new_request_id()
        id_header = (b"x-request-id", request_id.encode("latin-1"))
        token = request_id_var.set(request_id)

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*(message.get("headers") or ()), id_header]
            await send(message)

        try:
            await self._sane(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)

    async def _sane(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope["path"]
        if WEBHOOK_PATHS.match(path):
            await self.app(self._without_slash(scope), receive, send)
            return
        field = self._bad_path_or_query(scope)
        if field == "path":  # a path no resource can have: an unknown (malformed) id is 404, as the contract says
            await self._answer(send, 404, error_body("Not found"))
            return
        if field is not None:
            await self._refuse(send, field)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(self._without_slash(scope), receive, send)
            return
        messages, body = [], b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body") or len(body) > self.max_checked_body:
                break
        if b"\\u" in body or b"\x00" in body:  # only then can a JSON string hold what is refused
            try:
                field = _bad_json_field(json.loads(body))
            except (ValueError, RecursionError):
                field = None  # not JSON, or nested too deep for any request of ours: the route's own parsing answers
            if field is not None:
                await self._refuse(send, field)
                return

        async def replay() -> Any:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(self._without_slash(scope), replay, send)

    @staticmethod
    def _without_slash(scope: Scope) -> Scope:
        path = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = dict(scope, path=path.rstrip("/") or "/")
            if scope.get("raw_path"):
                scope["raw_path"] = scope["raw_path"].rstrip(b"/") or b"/"
        return scope

    @staticmethod
    def _bad_path_or_query(scope: Scope) -> str | None:
        raw_path = scope.get("raw_path")
        if bad_text(scope["path"]):
            return "path"
        if raw_path and (  # without a %-escape, the raw path holds no other text than the path
            bad_text(unquote(raw_path.decode("latin-1"), errors="surrogateescape")) if b"%" in raw_path
            else b"\x00" in raw_path
        ):
            return "path"
        query = scope.get("query_string", b"")
        if query and (b"%" in query or b"\x00" in query):  # else its text is plain bytes: nothing to refuse
            pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="surrogateescape")
            for name, value in pairs:
                if bad_text(name) or bad_text(value):
                    return name if not bad_text(name) else "query"
        return None

    @classmethod
    async def _refuse(cls, send: Any, field: str) -> None:
        await cls._answer(send, 400, error_body("Invalid request", [{"field": field, "message": BAD_TEXT}]))

    @staticmethod
    async def _answer(send: Any, status: int, content: Any) -> None:
        body = json.dumps(content).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
