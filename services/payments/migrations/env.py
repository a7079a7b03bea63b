"""Alembic environment of the payments database (the shared body lives in the kit)."""

from jeshkit.migrations import run_migrations_online
from payments.models import Base
from payments.settings import Settings

run_migrations_online(Base.metadata, Settings().database_url)
