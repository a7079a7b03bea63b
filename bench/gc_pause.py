"""How long a full collection of the cyclic garbage collector stalls a service process, with the heap its start-up
made, before and after `gc.freeze()` (which jeshkit's app does once a service has started).

    .venv/bin/python bench/gc_pause.py [--rounds 3]

For each service, in a fresh interpreter: its app built as uvicorn builds it (`create_app()`, the OpenAPI document
made), then `gc.collect()` timed `--rounds` times (every object is traversed: the whole GIL held meanwhile, every
request and consumer of the process waiting), then the same after `gc.freeze()`. A full collection also runs on
its own under load, when enough objects have outlived two younger collections. Not a test: it reports.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from jeshstack.stack import SERVICES

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import gc, os, sys, time
os.environ.setdefault("LOG_LEVEL", "WARNING")
from importlib import import_module
app = import_module(sys.argv[1] + ".app").create_app()
app.openapi()
gc.collect()
def full(rounds):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return min(times), sorted(times)[len(times) // 2]
rounds = int(sys.argv[2])
objects = len(gc.get_objects())
before = full(rounds)
gc.freeze()
after = full(rounds)
print(objects, gc.get_freeze_count(), *before, *after)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"full collection (gc.collect()), ms, min / median of {args.rounds}")
    print(f"  {'service':14} {'objects':>8} {'before freeze':>16} {'after freeze':>16}")
    for service in SERVICES:
        out = subprocess.run([sys.executable, "-c", PROBE, service, str(args.rounds)], capture_output=True, text=True,
                             cwd=REPO, check=True).stdout.split()
        objects, _, b_min, b_mid, a_min, a_mid = (float(x) for x in out[-6:])
        print(f"  {service:14} {objects:8.0f} {b_min:7.1f} / {b_mid:6.1f} {a_min:7.2f} / {a_mid:6.2f}")


if __name__ == "__main__":
    main()
