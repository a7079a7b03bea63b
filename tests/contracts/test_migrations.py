"""Every service's Alembic migrations build exactly the tables its models describe (the kit's own tables aside:
its migration helpers make them, not a service's models). Autogenerate compares tables, columns, types, nullability,
indexes and constraints; not an index's WHERE clause."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from jeshstack.paths import REPO

SERVICES = sorted(p.name for p in (REPO / "services").iterdir() if (p / "alembic.ini").exists())
KIT_TABLES = {"outbox", "inbox", "dead_letter", "daraja_tokens", "audit_log"}


@pytest.mark.parametrize("service", SERVICES)
def test_migrated_schema_matches_the_models(service: str, migrated_databases: Callable[[str], str]) -> None:
    models = importlib.import_module(f"{service}.models")
    engine = create_engine(migrated_databases(service))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), models.Base.metadata)
    finally:
        engine.dispose()
    ours = [d for d in diff if not (d[0] == "remove_table" and d[1].name in KIT_TABLES)
            and not (d[0] in ("remove_index", "remove_constraint") and d[1].table.name in KIT_TABLES)]
    assert ours == []
