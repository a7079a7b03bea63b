"""The contract checkers live in tools/contracts/ as plain modules: make them importable here."""

import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "contracts"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A PostgreSQL with every service's database and role, as the init script makes them on a new volume (the
    backup tests')."""
    from tests.contracts.backup_scripts import start_server

    server = start_server(tmp_path_factory.mktemp("pg-backup") / "data")
    yield server
    server.stop()
