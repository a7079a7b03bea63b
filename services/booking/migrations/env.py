"""Alembic environment of the booking database (the shared body lives in the kit)."""

from booking.models import Base
from booking.settings import Settings
from jeshkit.migrations import run_migrations_online

run_migrations_online(Base.metadata, Settings().database_url)
