"""Alembic environment of the notifications database (the shared body lives in the kit)."""

from jeshkit.migrations import run_migrations_online
from notifications.models import Base
from notifications.settings import Settings

run_migrations_online(Base.metadata, Settings().database_url)
