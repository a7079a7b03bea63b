"""Alembic environment of the transport database (the shared body lives in the kit)."""

from jeshkit.migrations import run_migrations_online
from transport.models import Base
from transport.settings import Settings

run_migrations_online(Base.metadata, Settings().database_url)
