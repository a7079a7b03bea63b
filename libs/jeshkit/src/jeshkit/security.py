"""JWT verification with the auth service's public keys (JWKS), as FastAPI dependencies."""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass
from typing import Annotated, Protocol

import jwt
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from jeshkit.errors import Forbidden, Unauthorized, UpstreamUnavailable
from jeshkit.sessions import EndedSessions

log = logging.getLogger("jeshkit.security")

SESSION_ENDED = "Session ended; please log in again"

# The one algorithm our tokens are signed with; anything else (none, HS256, RS256…) is refused.
JWT_ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class Principal:
    id: int
    role: str
    token_id: str
    issued_at_ms: int = 0  # the token's iat, milliseconds since the epoch

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class KeySource(Protocol):
    def get_signing_key(self, kid: str) -> jwt.PyJWK: ...


class TokenVerifier:
    """Verifies access tokens: signature by a key from the JWKS, algorithm pinned, exp/iss/aud checked.

    A key found in the JWKS is kept by kid, so that verifying a token needs no I/O and no thread, but for a bounded
    time: `keys_lifespan / 2` after it was found, the next token naming it asks the key source again (in a thread), and
    PyJWKClient's own copy of the JWKS is refetched once it is as old. A key auth no longer publishes (retired after a
    rotation, auth.tokens) is so refused within `keys_lifespan` of its going (as auth's own Cache-Control promises),
    not kept until the process restarts. While the JWKS cannot be fetched, a key already found is kept and asked for
    again every `unreachable_retry` seconds: a retirement cannot be learnt then, and refusing every token would make
    every service depend on auth's answering every few minutes. A kid not seen yet asks at once; PyJWKClient fetches
    again for it at most once per `cooldown_duration` (30 s), so a flood of made-up kids is not a flood of fetches.

    A token that passed every check is remembered until its expiry, by its exact text: a client sends the same
    access token with every request, and the signature check (Ed25519, about 0.2 ms of CPU) is the largest part of
    verifying it. Nothing else about an access token can change before it expires (they are not revoked one by
    one: logout ends the refresh family), so a remembered token gets the same answer, and one past its `exp` is
    "Token expired" as before, but only while the key it was checked with is kept: once that key is to be asked for
    again, the token is verified afresh (refused if its key is gone). Refused tokens are never remembered. A token of
    an account whose sessions all ended after it was issued (jeshkit.sessions: a password changed, an admin signed it
    out) is refused, remembered or not."""

    remembered_max = 4096  # tokens; the oldest is forgotten first
    unreachable_retry = 30.0  # seconds a known key is kept more while the JWKS cannot be fetched

    def __init__(self, jwks_url: str, *, issuer: str, audience: str, key_source: KeySource | None = None,
                 keys_lifespan: float = 300.0) -> None:
        self._key_trust = keys_lifespan / 2
        # cache_keys stays off: PyJWKClient's per-kid cache has no lifetime, so a key in it would never be refetched.
        # The auth service passes its own key_source and never fetches its own JWKS over HTTP.
        self._jwks: KeySource = key_source or jwt.PyJWKClient(
            jwks_url, cache_keys=False, lifespan=self._key_trust, cooldown_duration=30, timeout=5
        )
        self._issuer = issuer
        self._audience = audience
        self._keys: dict[str, tuple[jwt.PyJWK, float]] = {}  # kid -> (the parsed public key, kept until: monotonic)
        # token -> (its principal, its exp, until when its key is kept: monotonic)
        self._verified: dict[str, tuple[Principal, int, float]] = {}
        self.ended_sessions = EndedSessions()  # kept up to date by jeshkit.sessions.SessionsFollower

    async def verify(self, token: str) -> Principal:
        """The token's principal, checked on the event loop; the JWKS, when it must be fetched, is fetched in a
        thread."""
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, exp, key_kept_until = remembered
            if exp <= time.time():  # PyJWT's own test: expired once exp <= now
                self._verified.pop(token, None)
                raise Unauthorized("Token expired")
            if time.monotonic() < key_kept_until:
                return self._unless_ended(principal)
            self._verified.pop(token, None)  # its key is to be asked for again (it may be gone): verified afresh
        kid = self._kid(token)
        kept = self._keys.get(kid)
        if kept is None or kept[1] <= time.monotonic():
            kept = await run_in_threadpool(self._fetch_key, kid)
        key, key_kept_until = kept
        principal, exp = self._decode(token, key)
        if len(self._verified) >= self.remembered_max:
            self._verified.pop(next(iter(self._verified)), None)
        self._verified[token] = (principal, exp, key_kept_until)
        return self._unless_ended(principal)

    def _unless_ended(self, principal: Principal) -> Principal:
        if self.ended_sessions.ended(principal.id, principal.issued_at_ms):
            raise Unauthorized(SESSION_ENDED)
        return principal

    @staticmethod
    def _kid(token: str) -> str:
        """The kid named by the token's header, read without PyJWT's strict parse (jwt.decode parses and checks
        the whole token, header included, right after: a header it would refuse is refused then)."""
        try:
            segment = token[: token.index(".")]
            header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        except (ValueError, TypeError, RecursionError):  # binascii.Error and UnicodeDecodeError are ValueErrors
            raise Unauthorized("Invalid token") from None
        if not isinstance(header, dict) or header.get("alg") != JWT_ALGORITHM:
            raise Unauthorized("Invalid token")
        kid = header.get("kid")
        if not kid or not isinstance(kid, str):
            raise Unauthorized("Invalid token")
        return kid

    def _fetch_key(self, kid: str) -> tuple[jwt.PyJWK, float]:
        """The key of this kid from the key source, and until when it is kept (monotonic)."""
        try:
            key = self._jwks.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            kept = self._keys.get(kid)
            if kept is not None:
                log.warning("cannot fetch the auth service's JWKS; key %s kept for now", kid)
                kept = self._keys[kid] = (kept[0], time.monotonic() + self.unreachable_retry)
                return kept
            log.error("cannot fetch the auth service's JWKS")
            raise UpstreamUnavailable("Authentication service unavailable", 503) from None
        except jwt.PyJWKClientError:
            if self._keys.pop(kid, None) is not None:
                log.warning("key %s is no longer in the auth service's JWKS: its tokens are refused", kid)
            raise Unauthorized("Invalid token") from None
        kept = self._keys[kid] = (key, time.monotonic() + self._key_trust)
        return kept

    def _decode(self, token: str, signing_key: jwt.PyJWK) -> tuple[Principal, int]:
        try:
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=[JWT_ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("Token expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("Invalid token") from None
        try:
            principal = Principal(id=int(claims["sub"]), role=str(claims.get("role", "user")),
                                  token_id=str(claims["jti"]), issued_at_ms=round(float(claims["iat"]) * 1000))
            return principal, int(claims["exp"])
        except (TypeError, ValueError):
            raise Unauthorized("Invalid token") from None


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authentication required")
    return token.strip()


# async, as admin_user: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
async def current_user(request: Request) -> Principal:
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(_bearer_token(request))


async def admin_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    if not user.is_admin:
        raise Forbidden("Unauthorized")
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]
AdminUser = Annotated[Principal, Depends(admin_user)]
