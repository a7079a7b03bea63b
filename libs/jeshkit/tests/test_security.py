"""TokenVerifier: a key is fetched once per kid, then tokens are verified without I/O; bad tokens are 401."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jeshkit.errors import Unauthorized
from jeshkit.security import TokenVerifier


class CountingKeys:
    def __init__(self) -> None:
        self.private_key = Ed25519PrivateKey.generate()
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private_key.public_key()))
        self.key = jwt.PyJWK({**jwk, "kid": "k1", "alg": "EdDSA", "use": "sig"})
        self.asked: list[str] = []

    def get_signing_key(self, kid: str) -> jwt.PyJWK:
        self.asked.append(kid)
        if kid != "k1":
            raise jwt.PyJWKClientError("unknown kid")
        return self.key

    def token(self, *, kid: str = "k1", **overrides: Any) -> str:
        now = datetime.now(UTC)
        claims = {"sub": "7", "role": "admin", "iss": "jesh-auth", "aud": "jesh-api", "iat": now,
                  "exp": now + timedelta(minutes=5), "jti": uuid.uuid4().hex, **overrides}
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": kid})


def test_the_key_is_fetched_once_and_every_token_is_still_checked() -> None:
    keys = CountingKeys()
    verifier = TokenVerifier("http://unused", issuer="jesh-auth", audience="jesh-api", key_source=keys)
    first = asyncio.run(verifier.verify(keys.token()))
    second = asyncio.run(verifier.verify(keys.token()))
    assert (first.id, first.role, second.id) == (7, "admin", 7)
    assert keys.asked == ["k1"]
    token = keys.token()
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")  # another signature
    with pytest.raises(Unauthorized, match="Invalid token"):
        asyncio.run(verifier.verify(tampered))
    with pytest.raises(Unauthorized, match="Token expired"):
        asyncio.run(verifier.verify(keys.token(exp=datetime.now(UTC) - timedelta(seconds=5))))
    with pytest.raises(Unauthorized, match="Invalid token"):
        asyncio.run(verifier.verify(keys.token(kid="k2")))
    assert keys.asked == ["k1", "k2"]  # an unknown kid is asked about, and not remembered
    with pytest.raises(Unauthorized, match="Invalid token"):
        asyncio.run(verifier.verify(jwt.encode({"sub": "7"}, "secret-secret-secret-secret-32b!", algorithm="HS256",
                                               headers={"kid": "k1"})))
    deep = base64.urlsafe_b64encode(b"[" * 3000).decode().rstrip("=")  # before: RecursionError, a 500
    for garbage in ("", "abc", "W10.e30.c2ln", "!!!.e30.c2ln", "eyJhbGciOiJub25lIn0.e30.", f"{deep}.e30.c2ln"):
        with pytest.raises(Unauthorized, match="Invalid token"):
            asyncio.run(verifier.verify(garbage))
    assert keys.asked == ["k1", "k2"]  # none of them reached the key source


def test_a_verified_token_is_remembered_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = CountingKeys()
    verifier = TokenVerifier("http://unused", issuer="jesh-auth", audience="jesh-api", key_source=keys)
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr("jeshkit.security.jwt.decode", counting_decode)
    token = keys.token(exp=datetime.now(UTC) + timedelta(seconds=60))
    assert [asyncio.run(verifier.verify(token)).id for _ in range(3)] == [7, 7, 7]
    assert decoded == [token]  # the signature was checked once
    other = keys.token()
    asyncio.run(verifier.verify(other))
    assert decoded == [token, other]  # another token's text is checked on its own
    # Past its exp the remembered token gets the answer PyJWT would give.
    later = datetime.now(UTC).timestamp() + 61
    monkeypatch.setattr("jeshkit.security.time.time", lambda: later)
    with pytest.raises(Unauthorized, match="Token expired"):
        asyncio.run(verifier.verify(token))
    assert token not in verifier._verified and other in verifier._verified  # forgotten once expired
    assert decoded == [token, other]


def test_refused_tokens_are_not_remembered_and_the_memory_is_bounded() -> None:
    keys = CountingKeys()
    verifier = TokenVerifier("http://unused", issuer="jesh-auth", audience="jesh-api", key_source=keys)
    verifier.remembered_max = 3
    token = keys.token()
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    for _ in range(2):
        with pytest.raises(Unauthorized, match="Invalid token"):
            asyncio.run(verifier.verify(tampered))
    tokens = [keys.token() for _ in range(5)]
    for t in tokens:
        asyncio.run(verifier.verify(t))
    assert list(verifier._verified) == tokens[2:]  # the oldest forgotten first
