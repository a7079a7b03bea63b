"""Tools the tests and the benchmark take from Debian's archive (Chromium, wrk, promtool, Alertmanager, restic): no
package index but Debian's has them, so they are installed on first use when this runs as root with apt-get."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess

LOCK = "/tmp/jesh-apt-get.lock"


def debian_command(package: str, *commands: str, recommends: bool = True) -> str | None:
    """The path of the first of `commands` on PATH, Debian's `package` installed first when none is and this runs as
    root with apt-get (apt-get update once more if the install fails; `recommends=False`: without the packages it
    recommends). One install at a time, whichever process asks (test workers at once: dpkg's lock would refuse the
    second). None when it cannot be had."""
    found = _first_on_path(commands)
    if found or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _first_on_path(commands)  # another process may have installed it meanwhile
        if not found:
            install = ["apt-get", "install", "-y", "-qq", *([] if recommends else ["--no-install-recommends"]), package]
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            if subprocess.run(install, capture_output=True, env=env, timeout=900).returncode != 0:
                subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=900)
                subprocess.run(install, capture_output=True, env=env, timeout=900)
            found = _first_on_path(commands)
    return found


def _first_on_path(commands: tuple[str, ...]) -> str | None:
    return next((found for found in map(shutil.which, commands) if found), None)
