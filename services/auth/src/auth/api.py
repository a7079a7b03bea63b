"""Thin HTTP routes of the auth service."""

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from auth import accounts, erasure, password_change, service, session_cookie
from auth.client_ip import client_ip
from auth.models import User
from auth.schemas import (
    AccountChangeIn,
    AccountDetailOut,
    AccountIn,
    AccountOut,
    AuthOut,
    ErasureRequestOut,
    LoginIn,
    MessageOut,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    ProfileIn,
    ProfileOut,
    RefreshIn,
    RegisterIn,
    Role,
    UserOut,
    parse_ids,
)
from auth.service import AuthResult, Credentials, utcnow
from auth.throttle import spend_credential_token
from auth.tokens import KeyRing
from jeshkit.db import SessionDep
from jeshkit.errors import BadRequest
from jeshkit.events.base import MAX_ID
from jeshkit.internal import InternalUser
from jeshkit.schemas import ERROR_RESPONSES, Envelope, ErrorEnvelope
from jeshkit.security import AdminUser, CurrentUser

router = APIRouter(prefix="/api/auth", tags=["auth"])
internal_router = APIRouter(prefix="/internal/users", include_in_schema=False)
accounts_router = APIRouter(prefix="/api/auth/users", tags=["accounts (admin)"], responses=ERROR_RESPONSES)

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]

RESET_REQUESTED = "If an account has this email, a link to choose a new password is on its way"
LOGIN_RESPONSES: dict[int | str, dict[str, object]] = {**ERROR_RESPONSES, 429: {"model": ErrorEnvelope}}


# async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request for nothing.
async def get_credentials(request: Request) -> Credentials:
    return cast(Credentials, request.app.state.credentials)


async def get_key_ring(request: Request) -> KeyRing:
    return cast(KeyRing, request.app.state.key_ring)


async def get_client_ip(request: Request) -> str:
    return client_ip(request, request.app.state.trusted_proxies)


CredentialsDep = Annotated[Credentials, Depends(get_credentials)]
ClientIpDep = Annotated[str, Depends(get_client_ip)]


def credentials_rate_limit(session: SessionDep, credentials: CredentialsDep, ip: ClientIpDep) -> None:
    """Every /login and /register request spends a token of its client address, valid or not (429 when empty).
    A plain `def`: its statement blocks, so it runs in the thread pool."""
    spend_credential_token(session, client_ip=ip, policy=credentials.login_policy, now=utcnow())


RATE_LIMITED = [Depends(credentials_rate_limit)]
KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]


def _auth_out(result: AuthResult, request: Request, response: Response) -> AuthOut:
    """A session's answer; the refresh token in the body, or in its cookie when the client asks (session_cookie)."""
    user = result.user
    return AuthOut(
        token=result.token,
        refresh_token=session_cookie.keep(request, response, result.refresh_token),
        user=UserOut(id=user.id, email=user.email, name=user.name, role=user.role, phone=user.phone),
    )


@router.post("/register", status_code=201, response_model=AuthOut, responses=LOGIN_RESPONSES,
             dependencies=RATE_LIMITED)
def register(body: RegisterIn, session: SessionDep, credentials: CredentialsDep, ip: ClientIpDep, request: Request,
             response: Response) -> AuthOut:
    """Create an account (always role `user`) and sign it in. 429 with Retry-After when this client address
    has sent too many /login and /register requests."""
    result = service.register(
        session=session, credentials=credentials,
        email=body.email, phone=body.phone, name=body.name, password=body.password, client_ip=ip,
    )
    return _auth_out(result, request, response)


@router.post("/login", response_model=AuthOut, responses=LOGIN_RESPONSES, dependencies=RATE_LIMITED)
def login(body: LoginIn, session: SessionDep, credentials: CredentialsDep, ip: ClientIpDep, request: Request,
          response: Response) -> AuthOut:
    """Sign in with email and password. 429 with Retry-After while this email must wait after failed attempts
    from this client address (other addresses are not concerned), while this email is guarded after failed attempts
    from many addresses (except for addresses the account has logged in from), or when this address sends too many
    requests."""
    result = service.login(session=session, credentials=credentials, email=body.email, password=body.password,
                           client_ip=ip)
    return _auth_out(result, request, response)


@router.post("/refresh", response_model=AuthOut, responses=ERROR_RESPONSES)
def refresh(body: RefreshIn, session: SessionDep, credentials: CredentialsDep, request: Request,
            response: Response) -> AuthOut:
    """Trade a refresh token for a new access token and a new refresh token (the old one is spent). With
    `X-Jesh-Session: cookie`, the body may be `{}`: the refresh token is the `jesh_refresh` cookie's, and the new
    one is set there."""
    with session_cookie.dropped_when_refused(request):
        token = session_cookie.presented(request, body.refresh_token)
        result = service.refresh(session=session, credentials=credentials, refresh_token=token)
    return _auth_out(result, request, response)


@router.post("/logout", response_model=MessageOut, responses=ERROR_RESPONSES)
def logout(body: RefreshIn, user: CurrentUser, session: SessionDep, request: Request,
           response: Response) -> MessageOut:
    """Revoke the refresh token family of this session (with `X-Jesh-Session: cookie`: the cookie's, which is
    cleared)."""
    with session_cookie.dropped_when_refused(request):
        token = session_cookie.presented(request, body.refresh_token)
        service.logout(session=session, user_id=user.id, refresh_token=token)
    session_cookie.drop(request, response)
    return MessageOut(message="Logged out")


@router.post("/logout-everywhere", response_model=AuthOut, responses=ERROR_RESPONSES)
def logout_everywhere(body: RefreshIn, user: CurrentUser, session: SessionDep, credentials: CredentialsDep,
                      request: Request, response: Response) -> AuthOut:
    """Sign out on every other device: every session of the account ends (their refresh and access tokens are
    refused), and the caller goes on with the new pair of tokens in the answer (login's shape). The body names this
    session's current `refresh_token` (with `X-Jesh-Session: cookie`, `{}`: the cookie's; none: 400), and one that is
    not a live, unspent refresh token of this account is 401: an access token copied from a device must not become a
    long session that signs the owner out."""
    with session_cookie.dropped_when_refused(request):
        token = session_cookie.presented(request, body.refresh_token)
        result = service.logout_everywhere_else(session=session, credentials=credentials, user_id=user.id,
                                                refresh_token=token)
    return _auth_out(result, request, response)


@router.post("/password", response_model=AuthOut, responses=LOGIN_RESPONSES, dependencies=RATE_LIMITED)
def change_password(body: PasswordChangeIn, user: CurrentUser, session: SessionDep, credentials: CredentialsDep,
                    ip: ClientIpDep, request: Request, response: Response) -> AuthOut:
    """Change the caller's password: `current_password` must be right (400 otherwise; counted like a failed login,
    429 with Retry-After alike). Every session of the account ends; the answer is a new one, as login gives.
    Publishes PasswordChanged (the owner is told). Counts against this client address's /login and /register rate
    limit (each try checks a password hash: the gateway's own limit does not cover this path)."""
    return _auth_out(password_change.change_password(
        session=session, credentials=credentials, user_id=user.id, current_password=body.current_password,
        new_password=body.new_password, client_ip=ip,
    ), request, response)


@router.post("/password-reset", status_code=202, response_model=MessageOut, responses=LOGIN_RESPONSES,
             dependencies=RATE_LIMITED)
def request_password_reset(body: PasswordResetIn, request: Request, session: SessionDep) -> MessageOut:
    """Forgot password: 202 whatever the email, so the answer tells nobody whether it has an account. If it has,
    a link to choose a new password is emailed to it (valid PASSWORD_RESET_TTL_SECONDS, single use; at most
    PASSWORD_RESET_PER_HOUR links an hour, further asks send nothing). Counts against this client address's
    /login and /register rate limit."""
    password_change.request_reset(session=session, policy=request.app.state.reset_policy, email=body.email)
    return MessageOut(message=RESET_REQUESTED)


@router.post("/password-reset/confirm", response_model=AuthOut, responses=LOGIN_RESPONSES, dependencies=RATE_LIMITED)
def confirm_password_reset(body: PasswordResetConfirmIn, session: SessionDep, credentials: CredentialsDep,
                           ip: ClientIpDep, request: Request, response: Response) -> AuthOut:
    """Choose a new password with an emailed link's `token`: signs in (the answer is a session, as login gives).
    Every other session of the account ends and its other links are spent. A token unknown, spent or expired:
    400. Publishes PasswordChanged (the owner is told)."""
    return _auth_out(password_change.reset_password(
        session=session, credentials=credentials, token=body.token, new_password=body.password, client_ip=ip,
    ), request, response)


@router.get("/profile", response_model=ProfileOut, responses=ERROR_RESPONSES)
def profile(user: CurrentUser, session: SessionDep) -> ProfileOut:
    """The caller's account, at the top level (no envelope)."""
    return _profile_out(service.get_profile(session=session, user_id=user.id))


@router.patch("/profile", response_model=ProfileOut, responses=ERROR_RESPONSES)
def update_profile(body: ProfileIn, user: CurrentUser, session: SessionDep) -> ProfileOut:
    """Change any of email, phone and name (the rules of registration); answers the profile as GET does.
    An email another account has: 409. Publishes UserUpdated."""
    if not body.model_fields_set:  # null is refused by the schema: a field set is a field given
        raise BadRequest("Give at least one of email, phone, name")
    account = service.update_profile(
        session=session, user_id=user.id, email=body.email, phone=body.phone, name=body.name
    )
    return _profile_out(account)


@router.get("/profile/erasure-request", response_model=Envelope[ErasureRequestOut], responses=ERROR_RESPONSES,
            summary="Whether I asked for my personal data to be erased")
def erasure_request(user: CurrentUser, session: SessionDep) -> Envelope[ErasureRequestOut]:
    """`requested_at`: when the caller asked (null: never, or withdrawn)."""
    return Envelope(data=erasure.erasure_request(session=session, user_id=user.id))


@router.post("/profile/erasure-request", response_model=Envelope[ErasureRequestOut], responses=ERROR_RESPONSES,
             summary="Ask for my personal data to be erased")
def request_erasure(user: CurrentUser, session: SessionDep) -> Envelope[ErasureRequestOut]:
    """Kenya's Data Protection Act, s.40: the request is noted on the account (operators find it in the directory,
    `erasure_requested=true`) and acknowledged by SMS and email (ErasureRequested). Nothing is erased yet: an operator
    settles what is live (a rental, money owed either way), closes the account and erases it. Asked already: 200,
    unchanged. An operator's account: 409."""
    return Envelope(data=erasure.request_erasure(session=session, user_id=user.id))


@router.delete("/profile/erasure-request", response_model=Envelope[ErasureRequestOut], responses=ERROR_RESPONSES,
               summary="Withdraw my request to erase my personal data")
def withdraw_erasure_request(user: CurrentUser, session: SessionDep) -> Envelope[ErasureRequestOut]:
    """Before an operator has acted: the request is withdrawn (none: 200, unchanged)."""
    return Envelope(data=erasure.withdraw_erasure_request(session=session, user_id=user.id))


def _profile_out(account: User) -> ProfileOut:
    return ProfileOut(id=account.id, email=account.email, name=account.name, phone=account.phone, role=account.role)


@accounts_router.get("", response_model=Envelope[list[AccountOut]], summary="Find accounts (admin)")
def find_accounts(
    _: AdminUser,
    session: SessionDep,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description=(
        "a part of the name or the email (any case), or of the phone number in any form (0712…, +254712…)"))] = None,
    role: Role | None = None,
    ids: Annotated[str | None, Query(max_length=4000, description="a comma-separated list of up to 200 ids")] = None,
    guarded: Annotated[bool, Query(description="only accounts the login guard protects now")] = False,
    erasure_requested: Annotated[bool, Query(description=(
        "only customers who asked for their personal data to be erased, not erased yet"))] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Envelope[list[AccountOut]]:
    """Accounts matching every filter given, newest first (no total: a full page means there may be more)."""
    try:
        id_list = parse_ids(ids) if ids is not None else None
    except ValueError as exc:
        raise BadRequest(str(exc), [{"field": "ids", "message": str(exc)}]) from None
    return Envelope(data=accounts.find_accounts(
        session=session, query=q, role=role, ids=id_list, guarded=guarded, erasure_requested=erasure_requested,
        limit=limit, offset=offset,
    ))


@accounts_router.post("", status_code=201, response_model=Envelope[AccountOut],
                      summary="Open an account for a customer at the desk (admin)")
def open_account(
    body: AccountIn, admin: AdminUser, session: SessionDep, credentials: CredentialsDep, request: Request
) -> Envelope[AccountOut]:
    """A customer account with the rules of registration and no password: the customer is emailed a link to choose
    theirs (valid `ACCOUNT_INVITE_TTL_SECONDS`, 7 days) and welcomed. An email another account has: 409. Audited."""
    return Envelope(data=accounts.open_account(
        session=session, actor=admin, passwords=credentials.passwords, policy=request.app.state.reset_policy,
        email=body.email, phone=body.phone, name=body.name,
    ))


@accounts_router.get("/{user_id}", response_model=Envelope[AccountDetailOut], summary="One account (admin)")
def account(user_id: PathId, _: AdminUser, session: SessionDep) -> Envelope[AccountDetailOut]:
    """The account, its last login, its signed-in devices and whether the login guard is on. Unknown: 404."""
    return Envelope(data=accounts.account_detail(session=session, user_id=user_id))


@accounts_router.patch("/{user_id}", response_model=Envelope[AccountDetailOut],
                       summary="Change a role or correct contact details (admin)")
def update_account(
    user_id: PathId, body: AccountChangeIn, admin: AdminUser, session: SessionDep
) -> Envelope[AccountDetailOut]:
    """Make an account an operator (`admin`) or a customer (`user`; a demoted admin's sessions end; your own role:
    400), and/or correct its `email`, `phone`, `name` (the rules of registration; an email another account has:
    409). Audited; publishes UserUpdated."""
    if not body.model_fields_set:  # null is refused by the schema: a field set is a field given
        raise BadRequest("Give at least one of role, email, phone, name")
    return Envelope(data=accounts.update_account(
        session=session, actor=admin, user_id=user_id, role=body.role, email=body.email, phone=body.phone,
        name=body.name,
    ))


@accounts_router.post("/{user_id}/sign-out", response_model=Envelope[AccountDetailOut],
                      summary="End every session of an account (admin)")
def sign_out_everywhere(user_id: PathId, admin: AdminUser, session: SessionDep) -> Envelope[AccountDetailOut]:
    """Every refresh token of the account stops working, and every service refuses its access tokens already issued.
    Audited."""
    return Envelope(data=accounts.sign_out_everywhere(session=session, actor=admin, user_id=user_id))


@accounts_router.post("/{user_id}/close", response_model=Envelope[AccountDetailOut],
                      summary="Close an account (admin)")
def close_account(user_id: PathId, admin: AdminUser, session: SessionDep) -> Envelope[AccountDetailOut]:
    """Nobody logs in to it until it is reopened: every session ends, its password links are spent, a login with the
    right password is 403 "This account is closed; please contact Jesh Storage". Its records stay. Your own account:
    400. Audited."""
    return Envelope(data=accounts.close_account(session=session, actor=admin, user_id=user_id))


@accounts_router.post("/{user_id}/reopen", response_model=Envelope[AccountDetailOut],
                      summary="Reopen a closed account (admin)")
def reopen_account(user_id: PathId, admin: AdminUser, session: SessionDep) -> Envelope[AccountDetailOut]:
    """It may log in again with its password. Audited."""
    return Envelope(data=accounts.reopen_account(session=session, actor=admin, user_id=user_id))


@accounts_router.post("/{user_id}/erase", response_model=Envelope[AccountDetailOut],
                      summary="Erase a closed customer's personal data (admin)")
def erase_account(
    user_id: PathId, admin: AdminUser, session: SessionDep, request: Request
) -> Envelope[AccountDetailOut]:
    """Kenya's Data Protection Act, s.40: the account keeps its id (financial records stay under it) with the name
    "Erased customer", an email nobody receives (`erased-<id>@erased.invalid`), no phone and no password; every
    service removes what it holds of the person (CustomerErased). The account must be closed (409) and a customer
    (an admin: 409); anything still live (a booking or rental, money in flight, a refund not yet paid, an open
    invoice, a transport request not yet done) refuses it: 409 with each reason in `errors` (`field` the kind:
    booking, payment, refund, invoice, transport).
    Your own account: 400. Already erased: 200, unchanged, and CustomerErased is published again (for a service
    restored from a backup older than the erasure). Never undone. Audited."""
    peers = erasure.erasure_peers(request.app.state.settings, request.app.state.http)
    return Envelope(data=erasure.erase_account(session=session, actor=admin, user_id=user_id, peers=peers))


@accounts_router.delete("/{user_id}/login-guard", response_model=Envelope[AccountDetailOut],
                        summary="Lift the account-wide login guard (admin)")
def lift_login_guard(user_id: PathId, admin: AdminUser, session: SessionDep) -> Envelope[AccountDetailOut]:
    """Clears the guard and the failed attempts counted for the account's email; harmless when there are none.
    Audited when something was lifted."""
    return Envelope(data=accounts.lift_login_guard(session=session, actor=admin, user_id=user_id))


@router.get("/.well-known/jwks.json")
def jwks(request: Request, key_ring: KeyRingDep) -> JSONResponse:
    """The public keys access tokens are signed with (JWKS, RFC 7517); every service verifies with them."""
    max_age = request.app.state.settings.jwks_cache_seconds
    return JSONResponse(key_ring.jwks(), headers={"Cache-Control": f"public, max-age={max_age}"})


@internal_router.get("/{user_id}")
def internal_user(user_id: PathId, session: SessionDep) -> Envelope[InternalUser]:
    """For peers (notifications) that missed the account's UserRegistered: its facts, as that event gives them."""
    return Envelope(data=service.user_facts(session=session, user_id=user_id))
