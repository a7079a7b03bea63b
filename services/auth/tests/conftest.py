"""Fixtures of the auth tests: a started auth service with its own signing key, and token forgery tools."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

# Cheap Argon2 for speed; tests about the hashing itself start auth with the real (default) cost.
CHEAP_HASHING = {"password_hash_memory_kib": 1024, "password_hash_time_cost": 1}
PASSWORD = "correct horse 1"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "auth" / "signing-key.pem"


@pytest.fixture
def start_auth(make_service: Callable[..., Any], key_file: Path) -> Callable[..., Any]:
    """Start (another replica of) auth: start_auth(serve=False, cheap_hashing=True, **settings)."""

    def start(*, serve: bool = False, cheap_hashing: bool = True, **overrides: Any) -> Any:
        values: dict[str, Any] = {"auth_signing_key_file": str(key_file)}
        if cheap_hashing:
            values.update(CHEAP_HASHING)
        values.update(overrides)
        return make_service("auth", serve=serve, **values)

    return start


@pytest.fixture
def auth(start_auth: Callable[..., Any]) -> Any:
    return start_auth()


@pytest.fixture
def register() -> Callable[..., Any]:
    """register(client, email=..., **fields) -> the response; sensible defaults for every field."""
    counter = iter(range(1, 10_000))

    def go(client: Any, headers: dict[str, str] | None = None, **fields: Any) -> Any:
        body = {
            "email": f"user{next(counter)}@example.com",
            "phone": "0712345678",
            "name": "Wanjiru Kamau",
            "password": PASSWORD,
        }
        body.update(fields)
        return client.post("/api/auth/register", json=body, headers=headers or {})

    return go


@pytest.fixture
def auth_engine(service_db: Engine) -> Engine:
    """The auth test database (the plugin's service_db, under the name these tests use)."""
    return service_db


@pytest.fixture
def bearer() -> Callable[[str], dict[str, str]]:
    """bearer(token) -> the Authorization header."""
    return lambda token: {"Authorization": f"Bearer {token}"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Forger:
    """Mints tokens with auth's real key (or others) to probe what verifiers accept."""

    def __init__(self, key_file: Path, issuer: str = "jesh-auth", audience: str = "jesh-api") -> None:
        from auth.tokens import public_jwk

        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        self.key = key
        self.kid = public_jwk(key.public_key())["kid"]
        self.issuer = issuer
        self.audience = audience

    def claims(self, user_id: int = 1, role: str = "user", expires_in: int = 900, **overrides: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": str(user_id), "role": role, "iss": self.issuer, "aud": self.audience,
            "iat": now, "exp": now + timedelta(seconds=expires_in), "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, *, key: Any = None, kid: str | None = "auth", **claims: Any) -> str:
        headers = {} if kid is None else {"kid": self.kid if kid == "auth" else kid}
        return jwt.encode(self.claims(**claims), key or self.key, algorithm="EdDSA", headers=headers)

    def unsigned(self, **claims: Any) -> str:
        """alg:none, no signature."""
        header = {"alg": "none", "typ": "JWT", "kid": self.kid}
        payload = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in self.claims(**claims).items()}
        return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}."

    def bad_tokens(self, valid: str, user_id: int) -> dict[str, str]:
        """Every token a verifier must refuse, named; `valid` is a real token of `user_id`."""
        head, payload, signature = valid.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["role"] = "admin"
        elevated = _b64(json.dumps(claims).encode())
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        x = public_x(self.key)
        return {
            "payload tampered (role admin)": f"{head}.{elevated}.{signature}",
            "signature tampered": f"{head}.{payload}.{flipped}",
            "signature stripped": f"{head}.{payload}.",
            "expired": self.token(user_id=user_id, expires_in=-5),
            "alg none": self.unsigned(user_id=user_id),
            "HS256 keyed with the public key": jwt.encode(
                self.claims(user_id), x, algorithm="HS256", headers={"kid": self.kid}
            ),
            "wrong audience": self.token(user_id=user_id, aud="another-api"),
            "wrong issuer": self.token(user_id=user_id, iss="someone-else"),
            "foreign key under auth's kid": self.token(user_id=user_id, key=Ed25519PrivateKey.generate()),
            "unknown kid": self.token(user_id=user_id, kid="not-a-known-kid"),
            "no kid": self.token(user_id=user_id, kid=None),
            "no exp": self.token(user_id=user_id, exp=None),
            "no jti": self.token(user_id=user_id, jti=None),
            "not a JWT": "not-a-token",
        }


def public_x(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.fixture
def forger(key_file: Path) -> Callable[[], Forger]:
    """forger() once auth has started (and so created its key file)."""
    return lambda: Forger(key_file)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def throttle_log() -> Iterator[list[str]]:
    """The messages auth.throttle logs during the test (the project's pytest runs without its logging plugin)."""
    collect = _Collect()
    logger = logging.getLogger("auth.throttle")
    logger.addHandler(collect)
    yield collect.messages
    logger.removeHandler(collect)
