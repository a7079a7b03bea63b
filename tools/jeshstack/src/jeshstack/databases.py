"""The stack's databases: one per service, created when missing, migrated to head."""

from __future__ import annotations

from jeshstack.paths import REPO


def run_migrations(service: str, url: str) -> None:
    """alembic upgrade head for one service's database."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO / "services" / service / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")


def with_db(base_url: str, database: str) -> str:
    head, _, _ = base_url.rstrip("/").rpartition("/")
    if "://" not in head or head.endswith(":/"):
        return f"{base_url.rstrip('/')}/{database}"
    return f"{head}/{database}"


def create_database_if_missing(base_url: str, database: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(with_db(base_url, "postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    engine.dispose()
