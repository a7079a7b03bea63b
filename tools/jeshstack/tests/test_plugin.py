"""The pytest plugin: a failed test against the whole stack shows what the stack logged during that test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFTEST = '''
from types import SimpleNamespace
import pytest

pytest_plugins = ["jeshstack.pytest_plugin"]

@pytest.fixture(scope="session")
def jesh_stack(tmp_path_factory):
    """Stands in for the stack: only its log folder matters here."""
    log_dir = tmp_path_factory.mktemp("logs")
    (log_dir / "payments-1.log").write_text("before the tests\\n")
    (log_dir / "quiet.log").write_text("nothing new here\\n")
    return SimpleNamespace(log_dir=log_dir)
'''

TESTS = '''
def test_fails(jesh_stack):
    with (jesh_stack.log_dir / "payments-1.log").open("a") as log:
        log.write("".join(f"line {n}\\n" for n in range(100)))
    assert False, "the test failed"

def test_passes(jesh_stack):
    with (jesh_stack.log_dir / "payments-1.log").open("a") as log:
        log.write("written by the passing test\\n")
'''


def test_a_failed_stack_test_reports_the_log_lines_written_during_it(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_x.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
                          f"--rootdir={tmp_path}", "-c", str(tmp_path / "pytest.ini"), str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert out.count("stack logs") == 1, out  # the failed test only
    assert "payments-1.log: the last 40 of 100 lines written during the test" in out, out
    assert "line 60" in out and "line 99" in out and "line 59\n" not in out, out
    assert "before the tests" not in out and "quiet.log" not in out, out


def test_a_truncate_blocked_by_a_left_open_transaction_names_the_holder(jesh_postgres, monkeypatch) -> None:
    from sqlalchemy import create_engine, text

    from jeshstack import pytest_plugin

    url = jesh_postgres.ensure_database("plugin_truncate_test")
    engine = create_engine(url, connect_args={"application_name": "left-open"})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS parcels (id int)"))
        conn.execute(text("INSERT INTO parcels VALUES (1)"))
    monkeypatch.setattr(pytest_plugin, "TRUNCATE_LOCK_TIMEOUT", "1s")
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT count(*) FROM parcels"))  # a transaction left open: ACCESS SHARE held
            try:
                pytest_plugin.truncate_all(url)
            except RuntimeError as error:
                message = str(error)
            else:
                raise AssertionError("the TRUNCATE went through a lock held by an open transaction")
            holder.rollback()
        assert "waited 1s for a lock" in message, message
        assert "'application_name': 'left-open'" in message and "'state': 'idle in transaction'" in message, message
        assert "parcels:AccessShareLock" in message, message
        assert "test_a_truncate_blocked_by_a_left_open_transaction_names_the_holder" in message, message  # last tests
        assert "MainThread" in message, message

        pytest_plugin.truncate_all(url)  # nothing held: it goes through
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM parcels")) == 0
    finally:
        engine.dispose()
