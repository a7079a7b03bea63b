"""Auth settings: the shared base plus this service's own knobs."""

from pathlib import Path

from pydantic import Field, model_validator

from auth.client_ip import parse_networks
from jeshkit.settings import ServiceSettings

DEV_SIGNING_KEY_FILE = ".jesh/auth/signing-key.pem"
DEV_ADMIN_EMAIL = "admin@jesh.local"
DEV_ADMIN_PASSWORD = "JeshAdmin2026!"


class Settings(ServiceSettings):
    service_name: str = "auth"

    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600

    # The Ed25519 private key that signs access tokens: PEM text (production: from a secret), or a PEM file.
    # In development and tests, with neither set, one is generated once and kept in the (default) file.
    auth_signing_key: str | None = None
    auth_signing_key_file: str | None = None
    # Rotation: a PEM file with the keys that signed tokens still in circulation (public or private halves).
    # They are published in the JWKS and accepted, never used to sign.
    auth_previous_keys_file: str | None = None
    jwks_cache_seconds: int = 300

    # Erasing a customer's personal data first asks these services whether they still need it
    # (GET /internal/users/{id}/holds).
    booking_url: str = "http://127.0.0.1:8003"
    payments_url: str = "http://127.0.0.1:8004"
    billing_url: str = "http://127.0.0.1:8006"
    transport_url: str = "http://127.0.0.1:8005"
    # Retention (Kenya's Data Protection Act s.39): erase the personal data of customer accounts closed more than
    # this many days ago, once nothing is live (auth.erasure.erase_closed_accounts); 0: never (operators erase).
    erase_closed_after_days: int = Field(default=0, ge=0)
    erase_closed_interval_seconds: float = Field(default=6 * 3600, gt=0)
    # How often an erased account's personal events are looked for in the JetStream stream (auth.stream_erasure).
    stream_erasure_interval_seconds: float = Field(default=30.0, gt=0)

    # Argon2id cost. Defaults are OWASP's recommended minimum (m=19 MiB, t=2, p=1), see auth.passwords.
    password_hash_memory_kib: int = 19456
    password_hash_time_cost: int = 2
    password_hash_parallelism: int = 1

    # Brute force (auth.throttle): an email gets this many unproven login attempts from one client address, then
    # that address waits LOGIN_BACKOFF_SECONDS, twice that after each further failure, at most LOGIN_LOCKOUT_SECONDS;
    # forgotten after LOGIN_FAILURE_WINDOW_SECONDS of quiet. Other addresses are not concerned.
    login_max_failures: int = 5
    login_failure_window_seconds: int = 900
    login_lockout_seconds: int = 900
    login_backoff_seconds: int = 60
    # Over every address together: this many unproven attempts on one email within LOGIN_ACCOUNT_WINDOW_SECONDS and
    # the email is guarded for LOGIN_ACCOUNT_GUARD_SECONDS: only addresses the account logged in from (within
    # LOGIN_KNOWN_ADDRESS_DAYS) may try meanwhile.
    login_account_max_failures: int = 50
    login_account_window_seconds: int = 3600
    login_account_guard_seconds: int = 3600
    login_known_address_days: int = 90
    # Forgot password: an emailed link is valid this long, and an account gets at most this many links an hour.
    password_reset_ttl_seconds: int = 1800
    password_reset_per_hour: int = 3
    account_invite_ttl_seconds: int = 7 * 86400  # the link an account opened by an operator sends its customer
    # The credentials rate limit: per client address, /login and /register together, a token bucket.
    jesh_rate_limit_auth_average: float = 120.0  # per minute
    jesh_rate_limit_auth_burst: int = 60
    # Proxies whose X-Forwarded-For is believed: the gateway's entryPoints.web.forwardedHeaders.trustedIPs.
    trusted_proxy_ips: str = "127.0.0.1/32,::1/128"

    # The first admin, created once at start-up (JESH_ADMIN_EMAIL / JESH_ADMIN_PASSWORD).
    jesh_admin_email: str = DEV_ADMIN_EMAIL
    jesh_admin_password: str = DEV_ADMIN_PASSWORD
    jesh_admin_name: str = "Administrator"

    # How often expired refresh tokens and stale login counters are purged.
    purge_interval_seconds: float = 3600.0

    @property
    def signing_key_path(self) -> Path:
        return Path(self.auth_signing_key_file or DEV_SIGNING_KEY_FILE)

    def secrets_to_check(self) -> dict[str, str | None]:
        key_file = self.auth_signing_key_file
        configured_key = self.auth_signing_key or (
            key_file if key_file and Path(key_file).is_file() else None
        )
        admin_email, admin_password = self.jesh_admin_email, self.jesh_admin_password
        return {
            "AUTH_SIGNING_KEY (or an existing AUTH_SIGNING_KEY_FILE)": configured_key,
            "JESH_ADMIN_EMAIL": None if admin_email.strip().lower() == DEV_ADMIN_EMAIL else admin_email,
            "JESH_ADMIN_PASSWORD": None if admin_password == DEV_ADMIN_PASSWORD else admin_password,
        }

    @model_validator(mode="after")
    def _check_auth_knobs(self) -> "Settings":
        if len(self.jesh_admin_password) < 8:
            raise ValueError("JESH_ADMIN_PASSWORD must be at least 8 characters")
        if self.access_token_ttl_seconds <= 0 or self.refresh_token_ttl_seconds <= 0:
            raise ValueError("token lifetimes must be positive")
        if self.login_max_failures < 1:
            raise ValueError("LOGIN_MAX_FAILURES must be at least 1")
        if self.jesh_rate_limit_auth_average <= 0 or self.jesh_rate_limit_auth_burst < 1:
            raise ValueError("JESH_RATE_LIMIT_AUTH_AVERAGE must be positive and JESH_RATE_LIMIT_AUTH_BURST at least 1")
        if self.login_account_max_failures < 1 or self.login_known_address_days < 1:
            raise ValueError("LOGIN_ACCOUNT_MAX_FAILURES and LOGIN_KNOWN_ADDRESS_DAYS must be at least 1")
        if self.login_account_window_seconds < 1 or self.login_account_guard_seconds < 1:
            raise ValueError("LOGIN_ACCOUNT_WINDOW_SECONDS and LOGIN_ACCOUNT_GUARD_SECONDS must be at least 1")
        if self.password_reset_ttl_seconds < 60 or self.password_reset_per_hour < 1:
            raise ValueError("PASSWORD_RESET_TTL_SECONDS must be at least 60 and PASSWORD_RESET_PER_HOUR at least 1")
        if self.account_invite_ttl_seconds < 60:
            raise ValueError("ACCOUNT_INVITE_TTL_SECONDS must be at least 60")
        if self.login_backoff_seconds < 1 or self.login_lockout_seconds < 1:
            raise ValueError("LOGIN_BACKOFF_SECONDS and LOGIN_LOCKOUT_SECONDS must be at least 1")
        parse_networks(self.trusted_proxy_ips)  # ValueError on a malformed entry
        return self
