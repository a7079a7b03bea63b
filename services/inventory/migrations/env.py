"""Alembic environment of the inventory database (the shared body lives in the kit)."""

from inventory.models import Base
from inventory.settings import Settings
from jeshkit.migrations import run_migrations_online

run_migrations_online(Base.metadata, Settings().database_url)
