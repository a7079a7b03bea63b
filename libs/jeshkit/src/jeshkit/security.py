"""JWT verification with the auth service's public keys (JWKS), as FastAPI dependencies."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Protocol

import jwt
from fastapi import Depends, Request

from jeshkit.errors import Forbidden, Unauthorized, UpstreamUnavailable

log = logging.getLogger("jeshkit.security")

# The one algorithm our tokens are signed with; anything else (none, HS256, RS256…) is refused.
JWT_ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class Principal:
    id: int
    role: str
    token_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class KeySource(Protocol):
    def get_signing_key(self, kid: str) -> jwt.PyJWK: ...


class TokenVerifier:
    """Verifies access tokens: signature by a key from the JWKS, algorithm pinned, exp/iss/aud checked."""

    def __init__(self, jwks_url: str, *, issuer: str, audience: str, key_source: KeySource | None = None) -> None:
        # PyJWKClient caches the key set and refetches it when a token names an unknown kid.
        # The auth service passes its own key_source and never fetches its own JWKS over HTTP.
        self._jwks: KeySource = key_source or jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)
        self._issuer = issuer
        self._audience = audience

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("Invalid token") from None
        if header.get("alg") != JWT_ALGORITHM or not header.get("kid"):
            raise Unauthorized("Invalid token")
        try:
            signing_key = self._jwks.get_signing_key(header["kid"])
        except jwt.PyJWKClientConnectionError:
            log.error("cannot fetch the auth service's JWKS")
            raise UpstreamUnavailable("Authentication service unavailable", 503) from None
        except jwt.PyJWKClientError:
            raise Unauthorized("Invalid token") from None
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
            return Principal(id=int(claims["sub"]), role=str(claims.get("role", "user")), token_id=str(claims["jti"]))
        except (TypeError, ValueError):
            raise Unauthorized("Invalid token") from None


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authentication required")
    return token.strip()


def current_user(request: Request) -> Principal:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(_bearer_token(request))


def admin_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    if not user.is_admin:
        raise Forbidden("Unauthorized")
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]
AdminUser = Annotated[Principal, Depends(admin_user)]
