"""./jesh test: the isolated folders on workers, then the whole-stack tests alone; a run that collects nothing fails."""

from __future__ import annotations

from typing import Any

from jeshstack import cli


def test_a_run_that_collects_no_tests_fails() -> None:
    assert cli.cmd_test(["-q", "-p", "no:xdist", "-k", "no_such_test_anywhere", __file__]) == 1


def test_every_test_runs_the_isolated_folders_on_workers_then_the_stack_tests_alone(monkeypatch: Any) -> None:
    calls: list[list[str]] = []
    monkeypatch.delenv("JESH_TEST_WORKERS", raising=False)
    monkeypatch.setattr(cli, "_pytest", lambda args: calls.append(args) or 0)
    assert cli.cmd_test([]) == 0
    assert calls == [["-n", "2", "--durations=15", "libs", "tools", "services", "tests/deploy"],
                     ["--durations=15", "--ignore=tests/deploy", "tests"]]  # tests/deploy needs no stack: not twice

    calls.clear()  # the first part fails: the second still runs, and the run fails
    monkeypatch.setattr(cli, "_pytest", lambda args: calls.append(args) or (1 if "-n" in args else 0))
    assert cli.cmd_test([]) == 1 and len(calls) == 2
    assert cli.cmd_test(["services/auth"]) == 0 and calls[-1] == ["services/auth"]  # what the arguments select
