"""./jesh test: the isolated folders on workers, then the whole-stack tests by group; collecting nothing fails."""

from __future__ import annotations

from typing import Any

from jeshstack import cli
from jeshstack.pytest_plugin import scope_of


def test_a_run_that_collects_no_tests_fails() -> None:
    assert cli.cmd_test(["-q", "-p", "no:xdist", "-k", "no_such_test_anywhere", __file__]) == 1


def test_every_test_runs_the_isolated_folders_on_workers_then_the_stack_tests_by_group(monkeypatch: Any) -> None:
    calls: list[list[str]] = []
    monkeypatch.delenv("JESH_TEST_WORKERS", raising=False)
    monkeypatch.setattr(cli, "_pytest", lambda args: calls.append(args) or 0)
    assert cli.cmd_test([]) == 0
    assert calls == [["-n", "2", "--durations=15", "libs", "tools", "services", "tests/deploy"],
                     ["-n", "2", "--dist", "loadgroup", "--durations=15", "--ignore=tests/deploy", "tests"]]
    # tests/deploy needs no stack: not twice; the whole-stack tests by group (browser, the rest), one worker each

    calls.clear()  # the first part fails: the second still runs, and the run fails
    monkeypatch.setattr(cli, "_pytest", lambda args: calls.append(args) or (1 if "libs" in args else 0))
    assert cli.cmd_test([]) == 1 and len(calls) == 2
    assert cli.cmd_test(["services/auth"]) == 0 and calls[-1] == ["services/auth"]  # what the arguments select


def test_the_browser_tests_are_one_group_and_the_other_stack_tests_another() -> None:
    assert scope_of("tests/browser/test_cash.py::test_an_operator_takes_cash") == "browser"
    others = {scope_of(f"tests/{folder}/test_x.py::test_y") for folder in ("e2e", "contracts", "gateway")}
    assert others == {"stack"}
    assert scope_of("tests/e2e/test_money.py::TestShortBounds::test_x") == "stack"
    # no group: any worker
    assert scope_of("services/auth/tests/test_tokens.py::test_x[a]") == "services/auth/tests/test_tokens.py::test_x[a]"
