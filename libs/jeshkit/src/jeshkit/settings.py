"""Typed settings shared by every service; each service subclasses ServiceSettings with its own knobs."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that only make sense on a developer's machine; refused outside development.
DEV_ONLY_VALUES = {"", "changeme", "dev", "development", "secret", "admin12345"}


class ServiceSettings(BaseSettings):
    """What every service reads from its environment, once, at start-up."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"

    database_url: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    # A pool that keeps what it opens: connections above the pool size ("overflow") are closed when handed back,
    # so under steady load they are opened and closed over and over, each a new PostgreSQL backend to fork and
    # warm up. The same 20 at most as 10 + 10 were, none of them churned.
    db_pool_size: int = 20
    db_max_overflow: int = 0
    db_statement_timeout_ms: int = 5000
    # How long a request waits for a pooled database connection before it answers 503.
    db_pool_timeout_seconds: float = 3.0

    nats_url: str = "nats://127.0.0.1:4222"
    events_stream: str = "JESH_EVENTS"
    events_subject_prefix: str = "jesh.events"
    # JetStream de-duplicates by Nats-Msg-Id inside this window (seconds).
    events_duplicate_window_seconds: float = 3600.0
    # Copies of the stream JetStream keeps (when the stream is first declared): 3 on a 3-server cluster.
    events_stream_replicas: int = 1
    # The stream keeps events this long / up to this size (oldest dropped first); an existing stream is updated
    # to these limits at start-up. Every consumer must have read an event before it ages out.
    events_max_age_seconds: float = 7 * 86400.0
    events_max_bytes: int = 1024**3
    # A message that keeps failing is parked in dead_letter after this many deliveries, or, when its failures are
    # transient (database or peer away, lock conflicts, timeouts), once it is older than consumer_retry_seconds.
    consumer_max_deliveries: int = 8
    consumer_retry_seconds: float = 86400.0
    # Outbox rows that fail to publish for a reason of their own (not NATS being away) are moved to dead_letter
    # after this many attempts, so that the rows behind them flow.
    outbox_max_attempts: int = 5
    # Retention: sent outbox rows and inbox rows older than messaging_retention_days, and parked messages older
    # than dead_letter_retention_days, are deleted by a job every retention_interval_seconds. The inbox must
    # outlive the stream's max age (a redelivery must still be recognised), which is checked at start-up.
    messaging_retention_days: float = 14.0
    dead_letter_retention_days: float = 90.0
    retention_interval_seconds: float = 3600.0

    jwt_issuer: str = "jesh-auth"
    jwt_audience: str = "jesh-api"
    # Where the auth service publishes its public keys (JWKS). file:// works too (tests).
    auth_jwks_url: str = "http://127.0.0.1:8001/api/auth/.well-known/jwks.json"
    # Auth's base URL, for the services that ask it about a user (payments: a card payer's contact; notifications:
    # a user whose UserRegistered never came); unset or blank: the base of AUTH_JWKS_URL.
    auth_url: str | None = None

    # Run the outbox relay, consumers and periodic jobs in this process.
    run_workers: bool = True

    # Traces (jeshkit.tracing): the standard OpenTelemetry variables; off unless an OTLP endpoint is set.
    otel_exporter_otlp_endpoint: str = ""
    otel_exporter_otlp_traces_endpoint: str = ""
    otel_sdk_disabled: bool = False
    otel_service_name: str = ""  # default: SERVICE_NAME

    @property
    def auth_base_url(self) -> str:
        return (self.auth_url or self.auth_jwks_url.split("/api/auth/", 1)[0]).rstrip("/")

    @field_validator("auth_url", mode="before")
    @classmethod
    def _blank_auth_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def secrets_to_check(self) -> dict[str, str | None]:
        """Names and values of secrets that must not keep a development default in production."""
        return {}

    @model_validator(mode="after")
    def _inbox_outlives_the_stream(self) -> ServiceSettings:
        if self.messaging_retention_days * 86400 < self.events_max_age_seconds:
            raise ValueError("MESSAGING_RETENTION_DAYS must cover EVENTS_MAX_AGE_SECONDS (the inbox must outlive "
                             "the stream, or a redelivered event would be applied twice)")
        return self

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_development(self) -> ServiceSettings:
        if self.environment == "production":
            weak = [
                name
                for name, value in self.secrets_to_check().items()
                if value is None or value.strip().lower() in DEV_ONLY_VALUES
            ]
            if weak:
                raise ValueError(
                    "refusing to start in production with missing or development secrets: "
                    + ", ".join(sorted(weak))
                )
        return self
