"""The deployment's tests: compose and Kubernetes files, backups, monitoring. None needs the stack, so `./jesh test`
runs them with the unit tests, in parallel. The checkers live in tools/deploy/ and tools/contracts/ as plain
modules: made importable here. Prometheus', Alertmanager's and restic's own tools come from Debian."""

import sys
from pathlib import Path

import pytest

from jeshstack.debian import debian_command

TOOLS = Path(__file__).resolve().parents[2] / "tools"
for folder in (TOOLS / "contracts", TOOLS / "deploy"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def debian_tool(command: str, package: str, *, required: bool = False) -> str:
    """Debian's `command` (jeshstack.debian, installed on first use as root). Without it the test is skipped, or fails
    when `required`."""
    found = debian_command(package, command, recommends=False)
    if not found:
        message = f"{command} is not installed (Debian: apt-get install {package}, as root)"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def promtool() -> str:
    return debian_tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def alertmanager_binaries() -> tuple[str, str]:
    """(alertmanager, amtool) from Debian's prometheus-alertmanager."""
    return (debian_tool("prometheus-alertmanager", "prometheus-alertmanager"),
            debian_tool("amtool", "prometheus-alertmanager"))


@pytest.fixture(scope="session")
def restic() -> str:
    """Debian's restic (the off-site and point-in-time tests'): they fail without it."""
    return debian_tool("restic", "restic", required=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A PostgreSQL with every service's database and role, as the init script makes them on a new volume (the
    backup tests')."""
    from tests.deploy.backup_scripts import start_server

    server = start_server(tmp_path_factory.mktemp("pg-backup") / "data")
    yield server
    server.stop()
