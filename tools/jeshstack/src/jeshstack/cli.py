"""./jesh — up [--detach] | down | status | logs [name] [-f] | reset | test [pytest args] | lint | bench."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from jeshstack.paths import REPO
from jeshstack.procs import http_ok, port_open, wait_for
from jeshstack.stack import Stack, StackConfig

STATE_DIR = Path(os.environ.get("JESH_STATE_DIR", REPO / ".jesh"))
STATE_FILE = STATE_DIR / "state.json"


def _state() -> dict | None:
    try:
        state = json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None
    pid = int(state.get("supervisor_pid", 0))
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return state


def _print_state(state: dict) -> None:
    rows = [("gateway", state["gateway"]), ("gateway ping/metrics", state["gateway_internal"]),
            ("postgres", state["postgres"]), ("nats", state["nats"]), ("daraja simulator", state["daraja_simulator"]),
            ("sms simulator", f"{state['sms_simulator']}/simulator/messages"), ("mail (Maildir)", state["mail"]),
            ("pesapal simulator", state.get("pesapal_simulator", "")),
            ("web (static files)", state.get("web", ""))]
    rows += [(name, url) for name, url in state["services"].items()]
    print()
    for name, url in rows:
        print(f"  {name:<22} {url}")
    print(f"\n  logs in {state['logs']}   admin: {state['admin_email']}")
    print(f"  portal: {state['gateway']}/   try: curl {state['gateway']}/api/units\n")


def cmd_up(args: argparse.Namespace) -> int:
    state = _state()
    if state:
        print("jesh: the stack is already running")
        _print_state(state)
        return 0
    gateway_port = int(os.environ.get("JESH_GATEWAY_PORT", "5000"))
    if port_open(gateway_port):
        print(f"jesh: port {gateway_port} is in use; set JESH_GATEWAY_PORT to another port", file=sys.stderr)
        return 1
    if args.detach:
        return _up_detached()
    # Pesapal sends the customer's browser back to the portal's page for it (PESAPAL_CALLBACK_URL overrides).
    public = os.environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{gateway_port}").rstrip("/")
    card_return = os.environ.get("PESAPAL_CALLBACK_URL") or f"{public}/bookings/card-return"
    stack = Stack(StackConfig(state_dir=STATE_DIR, gateway_port=gateway_port, build_web=True,
                              env={"PESAPAL_CALLBACK_URL": card_return,
                                   # a Paybill payment whose confirmation was lost is found within a minute
                                   "PAYBILL_PULL_INTERVAL_SECONDS": os.environ.get("PAYBILL_PULL_INTERVAL_SECONDS",
                                                                                   "60")},
                              # Commit times kept, as in the bench: an event's delivery can be timed to the
                              # consumer's commit (pg_xact_commit_timestamp) on a development stack too.
                              postgres_settings={"track_commit_timestamp": "on"},
                              console=None if args.quiet else sys.stdout))
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        _print_state(stack.describe())
        print("jesh: running; Ctrl-C stops everything", flush=True)
        stack.supervise(stop)
    except Exception as exc:  # noqa: BLE001 - say what failed, then clean up
        print(f"jesh: start-up failed: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    print("jesh: stopping", flush=True)
    stack.stop()
    return 0


def _up_detached() -> int:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    log = STATE_DIR / "jesh.log"
    with open(log, "ab") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "jeshstack", "up", "--quiet"], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, cwd=REPO,
        )

    def outcome() -> str | None:
        if child.poll() is not None:
            return "failed"
        state = _state()
        return "up" if state and state.get("supervisor_pid") == child.pid else None

    try:
        result = wait_for(outcome, timeout=300, interval=0.5, what="the stack")
    except AssertionError:
        print("jesh: timed out waiting for the stack", file=sys.stderr)
        return 1
    if result == "failed":
        print(f"jesh: the stack failed to start; see {log}", file=sys.stderr)
        print(log.read_text()[-3000:], file=sys.stderr)
        return 1
    print("jesh: the stack is up (detached); ./jesh down stops it")
    _print_state(_state() or {})
    return 0


def cmd_down(_: argparse.Namespace) -> int:
    state = _state()
    if not state:
        print("jesh: nothing is running")
        return 0
    pid = int(state["supervisor_pid"])
    os.kill(pid, signal.SIGTERM)

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        return False

    try:
        wait_for(gone, timeout=60, interval=0.5, what="the stack to stop")
    except AssertionError:
        print("jesh: the stack did not stop in 60 s", file=sys.stderr)
        return 1
    print("jesh: stopped")
    return 0


def cmd_status(_: argparse.Namespace) -> int:
    state = _state()
    if not state:
        print("jesh: not running")
        return 3
    print(f"jesh: running (supervisor pid {state['supervisor_pid']})")
    for name, url in state["services"].items():
        print(f"  {name:<14} {url:<28} {'ready' if http_ok(f'{url}/readyz') else 'NOT READY'}")
    gateway_up = http_ok(state["gateway_internal"] + "/ping")
    print(f"  {'gateway':<14} {state['gateway']:<28} {'up' if gateway_up else 'DOWN'}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    log_dir = STATE_DIR / "logs"
    files = sorted(log_dir.glob(f"{args.name}.log" if args.name else "*.log"))
    if not files:
        known = sorted(f.stem for f in log_dir.glob("*.log"))
        if args.name and known:
            print(f"jesh: no log named {args.name!r}; there are: {', '.join(known)}", file=sys.stderr)
        else:
            print(f"jesh: no logs in {log_dir}", file=sys.stderr)
        return 1
    tail = ["tail", "-n", str(args.lines)] + (["-F"] if args.follow else []) + [str(f) for f in files]
    return subprocess.call(tail)


def cmd_reset(_: argparse.Namespace) -> int:
    cmd_down(argparse.Namespace())
    if STATE_DIR.exists():
        shutil.rmtree(STATE_DIR)
    print(f"jesh: removed {STATE_DIR}")
    return 0


# With no arguments: every folder of tests in one pytest run on JESH_TEST_WORKERS (3) pytest-xdist workers, by group
# (`--dist loadgroup`, groups from jeshstack.pytest_plugin): the whole-stack tests of tests/ but tests/deploy go whole
# to two workers, the browser tests with their own stack to one, the rest with the shared stack to another, each stack
# with its faults and timings; every other test (libs, tools, services, tests/deploy: they start what they need
# themselves, most of their time waiting on those processes) goes alone to whichever worker is free. The two stack
# groups are the longest and are handed out first; the other tests fill the third worker and then the rest.
FOLDERS = ("libs", "tools", "services", "tests")


def cmd_test(pytest_args: list[str]) -> int:
    """Every test (unit, integration, end-to-end). pytest's 'no tests collected' (5) is a failure."""
    if pytest_args:
        return _pytest(pytest_args)
    workers = os.environ.get("JESH_TEST_WORKERS", "3")
    # --durations: the slowest tests are printed, so a run that creeps towards its time limit says why.
    return _pytest(["-n", workers, "--dist", "loadgroup", "--durations=15",
                    *(d for d in FOLDERS if (REPO / d).is_dir())])


def _pytest(args: list[str]) -> int:
    # A folder of this run's own: pytest's shared default may be cleaned by a concurrent run.
    basetemp = tempfile.mkdtemp(prefix="jesh-test-")
    try:
        code = subprocess.call([sys.executable, "-m", "pytest", f"--basetemp={basetemp}", *args], cwd=REPO)
    finally:
        shutil.rmtree(basetemp, ignore_errors=True)
    if code == 5:
        print("jesh: pytest collected no tests: failing", file=sys.stderr)
        return 1
    return code


def cmd_bench(args: list[str]) -> int:
    """The benchmark (bench/run.py): prints a table and writes bench/results/latest.md."""
    return subprocess.call([sys.executable, str(REPO / "bench" / "run.py"), *args], cwd=REPO)


def cmd_lint(_: argparse.Namespace) -> int:
    """ruff on everything, mypy --strict on the kit and every service (pyproject.toml's [tool.mypy]), then shellcheck
    on the shell scripts (the deployment's backups and healthchecks), warnings and errors."""
    ruff = subprocess.call([sys.executable, "-m", "ruff", "check", "."], cwd=REPO)
    mypy = subprocess.call([sys.executable, "-m", "mypy"], cwd=REPO)
    scripts = sorted(str(path.relative_to(REPO)) for path in (REPO / "deploy").rglob("*.sh"))
    shellcheck = subprocess.call([str(Path(sys.executable).parent / "shellcheck"), "--severity=warning", *scripts],
                                 cwd=REPO)
    if shellcheck == 0:
        print(f"shellcheck: {len(scripts)} scripts, no warning")
    return ruff or mypy or shellcheck


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jesh", description="Jesh Storage local stack and tests")
    sub = parser.add_subparsers(dest="command", required=False)
    up = sub.add_parser("up", help="start the whole stack (gateway on JESH_GATEWAY_PORT, default 5000)")
    up.add_argument("--detach", action="store_true", help="return once ready and leave it running")
    up.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop a detached stack").set_defaults(func=cmd_down)
    sub.add_parser("status", help="what runs where, and whether it is ready").set_defaults(func=cmd_status)
    logs = sub.add_parser("logs", help="show the logs (all, or one process)")
    logs.add_argument("name", nargs="?")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.set_defaults(func=cmd_logs)
    sub.add_parser("reset", help="stop and wipe the stack's state (.jesh/)").set_defaults(func=cmd_reset)
    sub.add_parser("test", help="run every test (extra arguments go to pytest)")
    sub.add_parser("lint", help="ruff, mypy --strict, shellcheck").set_defaults(func=cmd_lint)
    sub.add_parser("bench", help="the benchmark (extra arguments go to bench/run.py)")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["test"]:
        return cmd_test(argv[1:])
    if argv[:1] == ["bench"]:
        return cmd_bench(argv[1:])
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args))
