"""TokenVerifier over a real JWKS endpoint: a key auth stops publishing (retired after a rotation) is refused within
the key set's lifetime (five minutes), remembered tokens signed with it included; a new key is found; made-up kids do
not make it fetch again and again; while the JWKS cannot be fetched, the key already found is kept. Time passes by
moving the monotonic clock on (PyJWKClient's cache reads it too), not by sleeping."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jeshkit.errors import Unauthorized, UpstreamUnavailable
from jeshkit.security import TokenVerifier
from jeshstack.testing import serve_json

LIFESPAN = 300  # seconds, the default: a retired key is refused this long after it left the JWKS, at the latest


class Key:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private_key = Ed25519PrivateKey.generate()
        self.jwk = {**json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private_key.public_key())),
                    "kid": kid, "alg": "EdDSA", "use": "sig"}

    def token(self, *, kid: str | None = None) -> str:
        now = datetime.now(UTC)
        claims = {"sub": "7", "role": "user", "iss": "jesh-auth", "aud": "jesh-api", "iat": now,
                  "exp": now + timedelta(minutes=5), "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": kid or self.kid})


class Jwks:
    """auth's JWKS endpoint: the keys it publishes now, and how many times it was fetched."""

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.fetches = 0
        self.server = serve_json(self._document)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/auth/.well-known/jwks.json"

    def _document(self) -> bytes:
        self.fetches += 1
        return json.dumps({"keys": [key.jwk for key in self.keys]}).encode()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    endpoint = Jwks()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Any:
    """later(seconds): the monotonic clock moves on (every reader of it, PyJWKClient's JWKS cache included)."""
    real = time.monotonic
    offset = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: real() + offset[0])

    def move(seconds: float) -> None:
        offset[0] += seconds

    return move


def verify(verifier: TokenVerifier, token: str) -> int:
    return asyncio.run(verifier.verify(token)).id


def test_a_retired_key_is_refused_within_the_lifespan_remembered_tokens_included(jwks: Jwks, later: Any) -> None:
    old, new = Key("old"), Key("new")
    jwks.keys = [old]
    verifier = TokenVerifier(jwks.url, issuer="jesh-auth", audience="jesh-api")
    remembered = old.token()
    assert verify(verifier, remembered) == 7

    jwks.keys = [new]  # auth rotated and no longer publishes the old key
    later(LIFESPAN + 1)

    for token in (remembered, old.token()):
        with pytest.raises(Unauthorized, match="Invalid token"):
            verify(verifier, token)
    assert verify(verifier, new.token()) == 7
    assert remembered not in verifier._verified


def test_made_up_kids_do_not_fetch_again_and_again(jwks: Jwks) -> None:
    key = Key("current")
    jwks.keys = [key]
    verifier = TokenVerifier(jwks.url, issuer="jesh-auth", audience="jesh-api")
    assert verify(verifier, key.token()) == 7
    fetched = jwks.fetches

    for _ in range(20):
        with pytest.raises(Unauthorized, match="Invalid token"):
            verify(verifier, key.token(kid=uuid.uuid4().hex))

    assert jwks.fetches - fetched <= 1  # PyJWKClient's cooldown: one fetch again at most
    assert verify(verifier, key.token()) == 7


def test_a_known_key_is_kept_while_the_jwks_cannot_be_fetched(jwks: Jwks, later: Any) -> None:
    key = Key("current")
    jwks.keys = [key]
    verifier = TokenVerifier(jwks.url, issuer="jesh-auth", audience="jesh-api")
    assert verify(verifier, key.token()) == 7

    jwks.stop()  # auth away
    later(LIFESPAN + 1)

    assert verify(verifier, key.token()) == 7
    # A kid never found cannot be checked: 503, as before.
    with pytest.raises(UpstreamUnavailable, match="Authentication service unavailable"):
        verify(verifier, Key("another").token())
