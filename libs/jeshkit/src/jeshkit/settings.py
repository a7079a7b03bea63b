"""Typed settings shared by every service; each service subclasses ServiceSettings with its own knobs."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator
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
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_statement_timeout_ms: int = 5000

    nats_url: str = "nats://127.0.0.1:4222"
    events_stream: str = "JESH_EVENTS"
    events_subject_prefix: str = "jesh.events"
    # JetStream de-duplicates by Nats-Msg-Id inside this window (seconds).
    events_duplicate_window_seconds: float = 3600.0
    # Copies of the stream JetStream keeps (when the stream is first declared): 3 on a 3-server cluster.
    events_stream_replicas: int = 1
    # A message delivered this many times and still failing is parked in dead_letter.
    consumer_max_deliveries: int = 8

    jwt_issuer: str = "jesh-auth"
    jwt_audience: str = "jesh-api"
    # Where the auth service publishes its public keys (JWKS). file:// works too (tests).
    auth_jwks_url: str = "http://127.0.0.1:8001/api/auth/.well-known/jwks.json"

    # Run the outbox relay, consumers and periodic jobs in this process.
    run_workers: bool = True

    def secrets_to_check(self) -> dict[str, str | None]:
        """Names and values of secrets that must not keep a development default in production."""
        return {}

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
