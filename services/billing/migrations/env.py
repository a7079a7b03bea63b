"""Alembic environment of the billing database (the shared body lives in the kit)."""

from billing.models import Base
from billing.settings import Settings
from jeshkit.migrations import run_migrations_online

run_migrations_online(Base.metadata, Settings().database_url)
