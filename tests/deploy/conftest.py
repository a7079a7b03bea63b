"""The deployment checkers live in tools/deploy/ and tools/contracts/ as plain modules: make them importable.
And Prometheus' and Alertmanager's own tools, from Debian."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
for folder in (TOOLS / "contracts", TOOLS / "deploy"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def debian_tool(command: str, package: str) -> str:
    """The path of `command`, installing Debian's `package` on first use when this runs as root with apt-get (as
    ./jesh bench does for wrk); the test is skipped when it cannot be had. Prometheus' and Alertmanager's own
    checkers are on no package index but Debian's."""
    found = shutil.which(command)
    if not found and shutil.which("apt-get") and os.geteuid() == 0:
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(install, capture_output=True, env=env, timeout=600).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600)
            subprocess.run(install, capture_output=True, env=env, timeout=600)
        found = shutil.which(command)
    if not found:
        pytest.skip(f"{command} is not installed (Debian: apt-get install {package})")
    return found


@pytest.fixture(scope="session")
def promtool() -> str:
    return debian_tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def alertmanager_binaries() -> tuple[str, str]:
    """(alertmanager, amtool) from Debian's prometheus-alertmanager."""
    return debian_tool("prometheus-alertmanager", "prometheus-alertmanager"), debian_tool("amtool",
                                                                                         "prometheus-alertmanager")
