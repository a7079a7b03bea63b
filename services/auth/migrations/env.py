"""Alembic environment of the auth database (the shared body lives in the kit)."""

from auth.models import Base
from auth.settings import Settings
from jeshkit.migrations import run_migrations_online

run_migrations_online(Base.metadata, Settings().database_url)
