"""jeshstack.debian: a command from Debian's archive, installed on first use (as root), once."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from jeshstack import debian


def test_a_command_on_path_is_found_without_installing(monkeypatch: Any) -> None:
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(AssertionError("installed")))
    assert debian.debian_command("coreutils", "no-such-command-here", "sh") == shutil.which("sh")


def install_world(monkeypatch: Any, tmp_path: Any, *, root: bool, works_after: int) -> list[list[str]]:
    """A machine without the command; apt-get install succeeds from its `works_after`-th call."""
    calls: list[list[str]] = []
    monkeypatch.setattr(debian, "LOCK", str(tmp_path / "lock"))
    monkeypatch.setattr(debian.os, "geteuid", lambda: 0 if root else 1000)

    def which(name: str) -> str | None:
        if name == "apt-get":
            return "/usr/bin/apt-get"
        installed = len([c for c in calls if "install" in c]) >= works_after
        return f"/usr/bin/{name}" if name == "wrk" and installed else None

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        ok = "update" in command or len([c for c in calls if "install" in c]) >= works_after
        return subprocess.CompletedProcess(command, 0 if ok else 100)

    monkeypatch.setattr(debian.shutil, "which", which)
    monkeypatch.setattr(debian.subprocess, "run", run)
    return calls


def test_a_missing_command_is_installed_once_and_found(monkeypatch: Any, tmp_path: Any) -> None:
    calls = install_world(monkeypatch, tmp_path, root=True, works_after=1)
    assert debian.debian_command("wrk", "wrk", recommends=False) == "/usr/bin/wrk"
    assert calls == [["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]]


def test_a_failed_install_updates_the_lists_and_tries_again(monkeypatch: Any, tmp_path: Any) -> None:
    calls = install_world(monkeypatch, tmp_path, root=True, works_after=2)
    assert debian.debian_command("wrk", "wrk") == "/usr/bin/wrk"
    assert calls == [["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"],
                     ["apt-get", "install", "-y", "-qq", "wrk"]]


def test_nothing_is_installed_unless_root(monkeypatch: Any, tmp_path: Any) -> None:
    calls = install_world(monkeypatch, tmp_path, root=False, works_after=1)
    assert debian.debian_command("wrk", "wrk") is None and calls == []
