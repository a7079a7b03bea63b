"""python -m pesapal_sim [--host 127.0.0.1] [--port 8011]: run the simulator with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(prog="pesapal_sim", description="Local Pesapal API 3.0 simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011)
    args = parser.parse_args()
    uvicorn.run("pesapal_sim.app:create_app", factory=True, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
