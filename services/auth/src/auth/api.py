"""Thin HTTP routes of the auth service."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from auth import service
from auth.schemas import AuthOut, LoginIn, MessageOut, ProfileOut, RefreshIn, RegisterIn, UserOut
from auth.service import AuthResult, Credentials
from auth.tokens import KeyRing
from jeshkit.db import SessionDep
from jeshkit.schemas import ERROR_RESPONSES, ErrorEnvelope
from jeshkit.security import CurrentUser

router = APIRouter(prefix="/api/auth", tags=["auth"])

LOGIN_RESPONSES: dict[int | str, dict[str, object]] = {**ERROR_RESPONSES, 429: {"model": ErrorEnvelope}}


def get_credentials(request: Request) -> Credentials:
    return request.app.state.credentials


def get_key_ring(request: Request) -> KeyRing:
    return request.app.state.key_ring


CredentialsDep = Annotated[Credentials, Depends(get_credentials)]
KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]


def _auth_out(result: AuthResult) -> AuthOut:
    user = result.user
    return AuthOut(
        token=result.token,
        refresh_token=result.refresh_token,
        user=UserOut(id=user.id, email=user.email, name=user.name, role=user.role, phone=user.phone),
    )


@router.post("/register", status_code=201, response_model=AuthOut, responses=ERROR_RESPONSES)
def register(body: RegisterIn, session: SessionDep, credentials: CredentialsDep) -> AuthOut:
    """Create an account (always role `user`) and sign it in."""
    result = service.register(
        session=session, credentials=credentials,
        email=body.email, phone=body.phone, name=body.name, password=body.password,
    )
    return _auth_out(result)


@router.post("/login", response_model=AuthOut, responses=LOGIN_RESPONSES)
def login(body: LoginIn, session: SessionDep, credentials: CredentialsDep) -> AuthOut:
    """Sign in with email and password; 429 with Retry-After while the account is locked out."""
    return _auth_out(service.login(session=session, credentials=credentials, email=body.email, password=body.password))


@router.post("/refresh", response_model=AuthOut, responses=ERROR_RESPONSES)
def refresh(body: RefreshIn, session: SessionDep, credentials: CredentialsDep) -> AuthOut:
    """Trade a refresh token for a new access token and a new refresh token (the old one is spent)."""
    return _auth_out(service.refresh(session=session, credentials=credentials, refresh_token=body.refresh_token))


@router.post("/logout", response_model=MessageOut, responses=ERROR_RESPONSES)
def logout(body: RefreshIn, user: CurrentUser, session: SessionDep) -> MessageOut:
    """Revoke the refresh token family of this session."""
    service.logout(session=session, user_id=user.id, refresh_token=body.refresh_token)
    return MessageOut(message="Logged out")


@router.get("/profile", response_model=ProfileOut, responses=ERROR_RESPONSES)
def profile(user: CurrentUser, session: SessionDep) -> ProfileOut:
    """The caller's account, at the top level (no envelope)."""
    account = service.get_profile(session=session, user_id=user.id)
    return ProfileOut(id=account.id, email=account.email, name=account.name, phone=account.phone, role=account.role)


@router.get("/.well-known/jwks.json")
def jwks(request: Request, key_ring: KeyRingDep) -> JSONResponse:
    """The public keys access tokens are signed with (JWKS, RFC 7517); every service verifies with them."""
    max_age = request.app.state.settings.jwks_cache_seconds
    return JSONResponse(key_ring.jwks(), headers={"Cache-Control": f"public, max-age={max_age}"})
