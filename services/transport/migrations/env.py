"""Alembic environment: the URL comes from the caller (-x / config) or from the service's settings."""

from alembic import context
from sqlalchemy import create_engine

from transport.models import Base
from transport.settings import Settings

target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
