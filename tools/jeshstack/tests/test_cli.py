"""./jesh test: every test in one run on workers, the whole-stack tests by group; collecting nothing fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from jeshstack import cli
from jeshstack.pytest_plugin import scope_of


def test_a_run_that_collects_no_tests_fails() -> None:
    assert cli.cmd_test(["-q", "-p", "no:xdist", "-k", "no_such_test_anywhere", __file__]) == 1


def test_every_test_runs_in_one_session_on_workers_by_group(monkeypatch: Any) -> None:
    calls: list[list[str]] = []
    monkeypatch.delenv("JESH_TEST_WORKERS", raising=False)
    monkeypatch.setattr(cli, "_pytest", lambda args: calls.append(args) or 0)
    assert cli.cmd_test([]) == 0
    assert calls == [["-n", "3", "--dist", "loadgroup", "--durations=15", "libs", "tools", "services", "tests"]]

    calls.clear()  # a failing run fails; the arguments select otherwise
    monkeypatch.setattr(cli, "_pytest", lambda args: calls.append(args) or 1)
    assert cli.cmd_test([]) == 1
    monkeypatch.setenv("JESH_TEST_WORKERS", "2")
    assert cli.cmd_test([]) == 1 and calls[-1][:2] == ["-n", "2"]
    assert cli.cmd_test(["services/auth"]) == 1 and calls[-1] == ["services/auth"]


def test_the_browser_tests_are_one_group_and_the_other_stack_tests_another() -> None:
    assert scope_of("tests/browser/test_cash.py::test_an_operator_takes_cash") == "browser"
    others = {scope_of(f"tests/{folder}/test_x.py::test_y") for folder in ("e2e", "contracts", "gateway")}
    assert others == {"stack"}
    assert scope_of("tests/e2e/test_money.py::TestShortBounds::test_x") == "stack"
    # no group: any worker (tests/deploy starts what it needs itself)
    assert scope_of("tests/deploy/test_pitr.py::test_x") == "tests/deploy/test_pitr.py::test_x"
    assert scope_of("services/auth/tests/test_tokens.py::test_x[a]") == "services/auth/tests/test_tokens.py::test_x[a]"


def test_real_workers_run_each_stack_group_whole_on_one_and_the_rest_anywhere(tmp_path: Path) -> None:
    """pytest-xdist itself, three workers, our scheduler: each group on one worker, the lone tests spread."""
    files = {"tests/browser/test_pages.py": 4, "tests/browser/test_more_pages.py": 2, "tests/e2e/test_flows.py": 4,
             "tests/gateway/test_routes.py": 2, "tests/deploy/test_files.py": 3, "services/x/tests/test_unit.py": 9}
    for name, count in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("import time\n" + "".join(f"def test_{n}():\n    time.sleep(0.1)\n" for n in range(count)))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist", "-p", "jeshstack.pytest_plugin", "-n", "3", "--dist",
         "loadgroup", "-v", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "tests", "services"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},  # only xdist and ours: quick workers
    ).stdout
    workers: dict[str, set[str]] = {}
    for worker, nodeid in re.findall(r"^\[(gw\d)\] \[\s*\d+%\] PASSED (\S+)", out, re.M):
        scope = scope_of(nodeid)
        workers.setdefault(scope if scope in ("browser", "stack") else "lone", set()).add(worker)
    assert sum(files.values()) == len(re.findall(r" PASSED ", out)), out
    assert len(workers["browser"]) == 1 and len(workers["stack"]) == 1, workers
    assert workers["browser"] != workers["stack"]
    assert len(workers["lone"]) >= 2, workers  # alone: spread over the workers
