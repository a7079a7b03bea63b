"""Access tokens, the JWKS, keys (generation, production, rotation), and what verifiers refuse."""

from __future__ import annotations

import os
import stat
import threading
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from auth.app import create_app
from auth.settings import Settings
from auth.tokens import create_key_file, load_key_ring, public_jwk
from jeshkit.errors import install_error_handlers
from jeshkit.security import CurrentUser, TokenVerifier

BAD_TOKEN_KINDS = [
    "payload tampered (role admin)", "signature tampered", "signature stripped", "expired", "alg none",
    "HS256 keyed with the public key", "wrong audience", "wrong issuer", "foreign key under auth's kid",
    "unknown kid", "no kid", "no exp", "no jti", "not a JWT",
]


def pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_access_token_is_an_eddsa_jwt_with_the_contract_claims(auth, register):
    body = register(auth, email="claims@example.com").json()
    jwks = auth.get("/api/auth/.well-known/jwks.json").json()
    (key,) = jwks["keys"]

    header = jwt.get_unverified_header(body["token"])
    claims = jwt.decode(
        body["token"], jwt.PyJWK(key).key, algorithms=["EdDSA"], audience="jesh-api", issuer="jesh-auth"
    )

    assert header["alg"] == "EdDSA"
    assert header["kid"] == key["kid"]
    assert claims["sub"] == str(body["user"]["id"])
    assert claims["role"] == "user"
    assert claims["exp"] - int(claims["iat"]) == 900  # iat to the millisecond, exp in whole seconds
    assert set(claims) == {"sub", "role", "iss", "aud", "iat", "exp", "jti"}
    second = auth.post("/api/auth/login", json={"email": "claims@example.com", "password": "correct horse 1"})
    assert jwt.decode(second.json()["token"], options={"verify_signature": False})["jti"] != claims["jti"]


def test_access_token_lifetime_is_a_setting(start_auth, register):
    client = start_auth(access_token_ttl_seconds=60)
    token = register(client).json()["token"]

    claims = jwt.decode(token, options={"verify_signature": False})

    assert claims["exp"] - int(claims["iat"]) == 60


def test_jwks_is_public_cacheable_and_keyed_by_thumbprint(auth, key_file):
    r = auth.get("/api/auth/.well-known/jwks.json")

    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=300"
    (key,) = r.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert key == public_jwk(private.public_key())
    assert "d" not in key


def test_kid_is_the_rfc_7638_thumbprint():
    # RFC 8037, appendix A.3: the thumbprint of its example Ed25519 key.
    x = jwt.utils.base64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
    jwk = public_jwk(Ed25519PublicKey.from_public_bytes(x))

    assert jwk["kid"] == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
def test_auth_refuses_bad_tokens(auth, register, forger, bearer, kind):
    body = register(auth).json()
    bad = forger().bad_tokens(body["token"], body["user"]["id"])[kind]

    assert auth.get("/api/auth/profile", headers=bearer(body["token"])).status_code == 200
    r = auth.get("/api/auth/profile", headers=bearer(bad))

    assert r.status_code == 401
    assert r.json()["success"] is False


@pytest.fixture
def other_service(start_auth):
    """A running auth (real HTTP) and a tiny service that verifies with the kit's TokenVerifier over its JWKS."""
    server = start_auth(serve=True)
    peer = FastAPI()
    install_error_handlers(peer)
    peer.state.token_verifier = TokenVerifier(
        f"http://127.0.0.1:{server.port}/api/auth/.well-known/jwks.json", issuer="jesh-auth", audience="jesh-api"
    )

    @peer.get("/whoami")
    def whoami(user: CurrentUser) -> dict[str, object]:
        return {"id": user.id, "role": user.role}

    with TestClient(peer, raise_server_exceptions=False) as client:
        yield server, client


def test_another_service_accepts_real_tokens(other_service, register, bearer):
    server, peer = other_service
    body = register(server, email="peer@example.com").json()
    admin = server.post("/api/auth/login", json={"email": "admin@jesh.local", "password": "JeshAdmin2026!"}).json()

    assert peer.get("/whoami", headers=bearer(body["token"])).json() == {"id": body["user"]["id"], "role": "user"}
    assert peer.get("/whoami", headers=bearer(admin["token"])).json() == {"id": admin["user"]["id"], "role": "admin"}


def test_another_service_refuses_bad_tokens(other_service, register, forger, bearer):
    server, peer = other_service
    body = register(server).json()
    bad_tokens = forger().bad_tokens(body["token"], body["user"]["id"])
    assert set(bad_tokens) == set(BAD_TOKEN_KINDS)

    answers = {kind: peer.get("/whoami", headers=bearer(token)).status_code for kind, token in bad_tokens.items()}

    assert answers == dict.fromkeys(BAD_TOKEN_KINDS, 401)
    assert peer.get("/whoami", headers=bearer(body["token"])).status_code == 200


def test_dev_key_is_generated_once_private_and_reused(start_auth, key_file):
    assert not key_file.exists()
    first = start_auth().get("/api/auth/.well-known/jwks.json").json()

    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    second = start_auth().get("/api/auth/.well-known/jwks.json").json()
    assert first == second


def test_replicas_creating_the_key_at_once_agree_on_one(tmp_path):
    path = tmp_path / "state" / "signing-key.pem"
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        create_key_file(path)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(p.name for p in path.parent.iterdir()) == ["signing-key.pem"]
    settings = Settings(environment="test", auth_signing_key_file=str(path))
    assert load_key_ring(settings).kid == load_key_ring(settings).kid


def test_default_key_file_is_in_the_state_folder():
    assert str(Settings(environment="development").signing_key_path) == ".jesh/auth/signing-key.pem"


def test_production_key_comes_from_configuration(tmp_path):
    key = Ed25519PrivateKey.generate()
    base = {"environment": "production", "jesh_admin_email": "ops@jesh.example",
            "jesh_admin_password": "a long production password"}

    with pytest.raises(ValidationError, match="AUTH_SIGNING_KEY"):
        Settings(**base)
    with pytest.raises(ValidationError, match="AUTH_SIGNING_KEY"):
        Settings(**base, auth_signing_key_file=str(tmp_path / "missing.pem"))

    from_env = create_app(Settings(**base, auth_signing_key=pem(key).replace("\n", "\\n")))
    (tmp_path / "mounted.pem").write_text(pem(key))
    from_file = create_app(Settings(**base, auth_signing_key_file=str(tmp_path / "mounted.pem")))
    assert from_env.state.key_ring.kid == from_file.state.key_ring.kid == public_jwk(key.public_key())["kid"]
    assert not (tmp_path / ".jesh").exists()


def test_a_signing_key_must_be_one_ed25519_private_key(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="Ed25519"):
        load_key_ring(Settings(environment="test", auth_signing_key=other.decode()))
    with pytest.raises(ValueError, match="exactly one"):
        load_key_ring(Settings(environment="test", auth_signing_key="not a key"))


def test_rotation_keeps_tokens_of_the_previous_key_valid(start_auth, register, bearer, key_file, tmp_path):
    old = start_auth()
    old_token = register(old, email="rotate@example.com").json()["token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    new_key_file = tmp_path / "new-key.pem"
    new_key_file.write_text(pem(Ed25519PrivateKey.generate()))
    # The old private key file doubles as the "previous keys" file: only its public half is used.
    rotated = start_auth(auth_signing_key_file=str(new_key_file), auth_previous_keys_file=str(key_file))
    without_previous = start_auth(auth_signing_key_file=str(new_key_file))

    kids = [k["kid"] for k in rotated.get("/api/auth/.well-known/jwks.json").json()["keys"]]
    new_token = rotated.post("/api/auth/login", json={"email": "rotate@example.com", "password": "correct horse 1"})
    new_kid = jwt.get_unverified_header(new_token.json()["token"])["kid"]

    assert kids == [new_kid, old_kid]
    assert new_kid != old_kid
    assert rotated.get("/api/auth/profile", headers=bearer(old_token)).status_code == 200
    assert rotated.get("/api/auth/profile", headers=bearer(new_token.json()["token"])).status_code == 200
    assert without_previous.get("/api/auth/profile", headers=bearer(old_token)).status_code == 401


def test_token_minted_now_expires_after_its_ttl(auth, forger, bearer, register):
    user_id = register(auth).json()["user"]["id"]
    f = forger()

    just_valid = f.token(user_id=user_id, expires_in=int(timedelta(seconds=30).total_seconds()))
    just_expired = f.token(user_id=user_id, expires_in=-1)

    assert auth.get("/api/auth/profile", headers=bearer(just_valid)).status_code == 200
    assert auth.get("/api/auth/profile", headers=bearer(just_expired)).json()["message"] == "Token expired"
