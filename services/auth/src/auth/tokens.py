"""Signing keys, access tokens (EdDSA JWTs), the JWKS, and opaque refresh tokens.

Keys: one Ed25519 private key signs; its `kid` is its RFC 7638 thumbprint, so the same key always has the
same kid on every replica and a new key gets a new one. Rotation: make a new key the signing key and put
the old one in AUTH_PREVIOUS_KEYS_FILE; the JWKS then lists both, so tokens signed by the old key stay
valid until they expire (keep it there for at least the access-token lifetime plus the JWKS cache time).
Once a key is no longer listed, every other service refuses it within that cache time, five minutes
(jeshkit.security.TokenVerifier), tokens it had accepted already included; auth itself, which verifies
with this key ring, as soon as it restarts without the key.

In development and tests a missing key is generated once and kept (mode 0600) in the key file; several
replicas starting at once agree on one key because the file is created atomically with a hard link.
Production never generates a key: Settings refuses to start without one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auth.settings import Settings
from jeshkit.security import JWT_ALGORITHM

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The key as a JWK, with its RFC 7638 thumbprint as `kid`."""
    x = _b64url(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    # RFC 7638: the required members only, lexicographic order, no whitespace.
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    kid = _b64url(hashlib.sha256(canonical.encode("ascii")).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": JWT_ALGORITHM, "use": "sig"}


class KeyRing:
    """The signing key and every public key tokens may be verified with (current first)."""

    def __init__(self, signing_key: Ed25519PrivateKey, previous: list[Ed25519PublicKey] | None = None) -> None:
        self.signing_key = signing_key
        current = public_jwk(signing_key.public_key())
        self.kid = current["kid"]
        by_kid = {current["kid"]: current}
        for key in previous or []:
            by_kid.setdefault((jwk := public_jwk(key))["kid"], jwk)
        self._jwks = {"keys": list(by_kid.values())}
        self._parsed = {kid: jwt.PyJWK(jwk, algorithm=JWT_ALGORITHM) for kid, jwk in by_kid.items()}

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def get_signing_key(self, kid: str) -> jwt.PyJWK:
        """Same contract as jwt.PyJWKClient.get_signing_key, from the keys held locally."""
        try:
            return self._parsed[kid]
        except KeyError:
            raise jwt.PyJWKClientError(f"unknown kid {kid!r}") from None


def load_key_ring(settings: Settings) -> KeyRing:
    """The configured keys; in development/test a missing key file is created first."""
    if settings.auth_signing_key:
        pem = settings.auth_signing_key.replace("\\n", "\n").encode()  # env values often carry "\n"
    else:
        path = settings.signing_key_path
        if not path.exists():
            if settings.environment == "production":
                raise RuntimeError("no signing key: set AUTH_SIGNING_KEY or AUTH_SIGNING_KEY_FILE")
            create_key_file(path)
        pem = path.read_bytes()
    private_keys, _ = _parse_pem_keys(pem)
    if len(private_keys) != 1:
        raise ValueError("the signing key must be exactly one Ed25519 private key in PEM")
    previous: list[Ed25519PublicKey] = []
    if settings.auth_previous_keys_file:
        old_private, old_public = _parse_pem_keys(Path(settings.auth_previous_keys_file).read_bytes())
        previous = [key.public_key() for key in old_private] + old_public
    return KeyRing(private_keys[0], previous)


def _parse_pem_keys(pem: bytes) -> tuple[list[Ed25519PrivateKey], list[Ed25519PublicKey]]:
    private: list[Ed25519PrivateKey] = []
    public: list[Ed25519PublicKey] = []
    for block in _PEM_BLOCK.finditer(pem):
        if b"PRIVATE" in block.group(1):
            key: Any = serialization.load_pem_private_key(block.group(0), password=None)
            target: list[Any] = private
            expected: type = Ed25519PrivateKey
        else:
            key = serialization.load_pem_public_key(block.group(0))
            target, expected = public, Ed25519PublicKey
        if not isinstance(key, expected):
            raise ValueError(f"only Ed25519 keys are supported, found {type(key).__name__}")
        target.append(key)
    return private, public


def create_key_file(path: Path) -> None:
    """Write a new Ed25519 private key to `path` (0600) unless another process got there first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)  # atomic, and refuses to replace a key another replica just wrote
        except FileExistsError:
            pass
    finally:
        temp.unlink(missing_ok=True)


class AccessTokens:
    """Mints the short-lived access tokens every service verifies with the JWKS."""

    def __init__(self, key_ring: KeyRing, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        self.key_ring = key_ring
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def mint(self, *, user_id: int, role: str, now: datetime) -> str:
        claims = {
            "sub": str(user_id),
            "role": role,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now.timestamp(),  # to the millisecond (RFC 7519 allows a fraction): ended sessions compare it
            "exp": now + timedelta(seconds=self.ttl_seconds),
            "jti": uuid.uuid4().hex,
        }
        key_ring = self.key_ring
        return jwt.encode(claims, key_ring.signing_key, algorithm=JWT_ALGORITHM, headers={"kid": key_ring.kid})


def new_refresh_token() -> str:
    """An opaque refresh token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """What is stored: the SHA-256 (a fast hash suffices for 256 random bits; a leaked table gives nothing)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
