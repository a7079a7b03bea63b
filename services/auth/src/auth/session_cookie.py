"""The refresh token in an HttpOnly cookie, for the web portal: script on the page never holds it.

A client asks for it with the header `X-Jesh-Session: cookie` on any route that answers a session (register, login,
refresh, logout-everywhere, password change, password reset): the refresh token is then set as the cookie
`jesh_refresh` (HttpOnly, SameSite=Strict, path /api/auth, Secure over HTTPS and in production, for the refresh
token's lifetime) and the answer's `refresh_token` is null. With the same header, /refresh and /logout read the
cookie when the body names no refresh token. Without the header nothing changes: the refresh token travels in the
body both ways, as the compat frontend expects. A cross-site page can neither send the header without a CORS
preflight (refused: the gateway allows our origins only) nor have the browser send a SameSite=Strict cookie."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from fastapi import Request, Response

from auth.schemas import MAX_REFRESH_TOKEN, storable
from auth.service import INVALID_REFRESH_TOKEN, Credentials
from jeshkit.errors import BadRequest, Unauthorized
from jeshkit.settings import ServiceSettings

COOKIE = "jesh_refresh"
HEADER = "X-Jesh-Session"
PATH = "/api/auth"


def wanted(request: Request) -> bool:
    """The client keeps its refresh token in the cookie."""
    return request.headers.get(HEADER, "").strip().lower() == "cookie"


def _secure(request: Request) -> bool:
    settings = cast(ServiceSettings, request.app.state.settings)
    return request.url.scheme == "https" or settings.environment == "production"


def keep(request: Request, response: Response, refresh_token: str) -> str | None:
    """The refresh token the answer's body carries: in cookie mode it is set as the cookie instead (None)."""
    if not wanted(request):
        return refresh_token
    credentials = cast(Credentials, request.app.state.credentials)
    response.set_cookie(
        COOKIE, refresh_token, max_age=int(credentials.refresh_ttl.total_seconds()), path=PATH, httponly=True,
        samesite="strict", secure=_secure(request),
    )
    return None


def drop(request: Request, response: Response) -> None:
    """Forget the cookie (logout)."""
    if wanted(request) or COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict", secure=_secure(request))


@contextmanager
def dropped_when_refused(request: Request) -> Iterator[None]:
    """A 401 of /refresh or /logout in cookie mode also clears the cookie: a spent, revoked or expired refresh token
    is no use to keep, and the browser stops sending it."""
    try:
        yield
    except Unauthorized as exc:
        if wanted(request) and COOKIE in request.cookies:
            cleared = Response()  # renders drop()'s Set-Cookie for the error answer
            drop(request, cleared)
            exc.headers = {**(exc.headers or {}), "set-cookie": cleared.headers["set-cookie"]}
        raise


def presented(request: Request, from_body: str | None) -> str:
    """The refresh token of /refresh or /logout: the body's, else (cookie mode) the cookie's; neither: 400, as a
    missing field always was."""
    if from_body:
        return from_body
    if wanted(request) and (cookie := request.cookies.get(COOKIE)):
        try:
            if len(cookie) <= MAX_REFRESH_TOKEN:  # the body's bounds: nothing longer or unstorable was ever set
                return storable(cookie)
        except ValueError:
            pass
        raise Unauthorized(INVALID_REFRESH_TOKEN)
    raise BadRequest("Invalid request", [{"field": "refresh_token", "message": "Field required"}])
