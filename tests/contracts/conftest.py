"""The contract checkers live in tools/contracts/ as plain modules: make them importable here."""

import os
import shutil
import subprocess
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


@pytest.fixture(scope="session")
def restic() -> str:
    """Debian's restic, installed on first use as the browser tests install Chromium (the off-site tests')."""
    found = shutil.which("restic")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail("restic is missing: apt-get install -y restic (as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "restic"]
    if subprocess.run(install, env=env, capture_output=True, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=True, timeout=600)
        subprocess.run(install, env=env, capture_output=True, check=True, timeout=600)
    found = shutil.which("restic")
    assert found, "apt-get installed restic but it is not on PATH"
    return found
