"""create_app(): the one place that wires the auth service."""

from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from auth.api import accounts_router, internal_router, router
from auth.client_ip import parse_networks
from auth.erasure import erase_closed_accounts, erasure_peers
from auth.handlers import HANDLERS
from auth.password_change import ResetPolicy
from auth.passwords import Passwords
from auth.service import Credentials, bootstrap_admin, purge_expired
from auth.settings import Settings
from auth.stream_erasure import erase_from_stream_job
from auth.throttle import LoginPolicy
from auth.tokens import AccessTokens, load_key_ring
from jeshkit.app import create_service_app
from jeshkit.jobs import PeriodicJob
from jeshkit.peers import make_http_client
from jeshkit.security import TokenVerifier


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    key_ring = load_key_ring(settings)
    credentials = Credentials(
        passwords=Passwords(
            memory_kib=settings.password_hash_memory_kib,
            time_cost=settings.password_hash_time_cost,
            parallelism=settings.password_hash_parallelism,
        ),
        access_tokens=AccessTokens(
            key_ring,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
        ),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        login_policy=LoginPolicy(
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_failure_window_seconds),
            max_lockout=timedelta(seconds=settings.login_lockout_seconds),
            backoff_base=timedelta(seconds=settings.login_backoff_seconds),
            per_minute=settings.jesh_rate_limit_auth_average,
            burst=settings.jesh_rate_limit_auth_burst,
            account_max_failures=settings.login_account_max_failures,
            account_window=timedelta(seconds=settings.login_account_window_seconds),
            account_guard=timedelta(seconds=settings.login_account_guard_seconds),
            known_address_for=timedelta(days=settings.login_known_address_days),
        ),
    )

    def create_first_admin(app: FastAPI) -> None:
        bootstrap_admin(
            session_factory=app.state.session_factory,
            passwords=credentials.passwords,
            email=settings.jesh_admin_email,
            password=settings.jesh_admin_password,
            name=settings.jesh_admin_name,
        )

    jobs = [PeriodicJob(
        "purge-expired-credentials",
        settings.purge_interval_seconds,
        partial(purge_expired, known_address_for=credentials.login_policy.known_address_for),
    )]
    if settings.erase_closed_after_days > 0:
        jobs.append(PeriodicJob(
            "erase-closed-accounts",
            settings.erase_closed_interval_seconds,
            partial(erase_closed_accounts, peers=erasure_peers(settings, make_http_client()),
                    after=timedelta(days=settings.erase_closed_after_days)),
        ))
    jobs.append(PeriodicJob(
        "erase-from-stream",
        settings.stream_erasure_interval_seconds,
        lambda factory: erase_from_stream_job(factory, messaging=app.state.messaging, settings=settings),
    ))
    app = create_service_app(
        settings,
        title="Jesh Storage — auth",
        description="accounts, tokens, admin bootstrap",
        routers=[router, accounts_router, internal_router],
        handlers=HANDLERS,
        jobs=jobs,
        on_startup=create_first_admin,
    )
    app.state.key_ring = key_ring
    app.state.credentials = credentials
    app.state.reset_policy = ResetPolicy(
        ttl=timedelta(seconds=settings.password_reset_ttl_seconds), per_hour=settings.password_reset_per_hour,
        invite_ttl=timedelta(seconds=settings.account_invite_ttl_seconds),
    )
    app.state.trusted_proxies = parse_networks(settings.trusted_proxy_ips)
    # Auth verifies its own tokens (/profile, /logout) with the keys it holds, never over HTTP.
    app.state.token_verifier = TokenVerifier(
        settings.auth_jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience, key_source=key_ring
    )
    return app
