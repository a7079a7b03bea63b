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

    A key, once found in the JWKS, is kept by kid (as PyJWKClient's key cache keeps it), so that verifying a
    token needs no I/O and no thread: only a token naming a kid not seen yet fetches the JWKS (in a thread).

    A token that passed every check is remembered until its expiry, by its exact text: a client sends the same
    access token with every request, and the signature check (Ed25519, about 0.2 ms of CPU) is the largest part of
    verifying it. Nothing else about an access token can change before it expires (they are not revoked one by
    one: logout ends the refresh family), so a remembered token gets the same answer, and one past its `exp` is
    "Token expired" as before. Refused tokens are never remembered. A token of an account whose sessions all ended
    after it was issued (jeshkit.sessions: a password changed, an admin signed it out) is refused, remembered or
    not."""

    remembered_max = 4096  # tokens; the oldest is forgotten first

    def __init__(self, jwks_url: str, *, issuer: str, audience: str, key_source: KeySource | None = None) -> None:
        # PyJWKClient caches the key set and refetches it when a token names an unknown kid.
        # The auth service passes its own key_source and never fetches its own JWKS over HTTP.
        self._jwks: KeySource = key_source or jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)
        self._issuer = issuer
        self._audience = audience
        self._keys: dict[str, jwt.PyJWK] = {}  # kid -> the parsed public key
        self._verified: dict[str, tuple[Principal, int]] = {}  # token -> (its principal, its exp)
        self.ended_sessions = EndedSessions()  # kept up to date by jeshkit.sessions.SessionsFollower

    async def verify(self, token: str) -> Principal:
        """The token's principal, checked on the event loop; the JWKS, when it must be fetched, is fetched in a
        thread."""
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, exp = remembered
            if exp > time.time():  # PyJWT's own test: expired once exp <= now
                return self._unless_ended(principal)
            del self._verified[token]
            raise Unauthorized("Token expired")
        kid = self._kid(token)
        key = self._keys.get(kid)
        if key is None:
            key = await run_in_threadpool(self._fetch_key, kid)
        principal, exp = self._decode(token, key)
        if len(self._verified) >= self.remembered_max:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, exp)
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

    def _fetch_key(self, kid: str) -> jwt.PyJWK:
        try:
            key = self._jwks.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            log.error("cannot fetch the auth service's JWKS")
            raise UpstreamUnavailable("Authentication service unavailable", 503) from None
        except jwt.PyJWKClientError:
            raise Unauthorized("Invalid token") from None
        self._keys[kid] = key
        return key

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
