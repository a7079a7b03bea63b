"""python -m daraja_sim [--host 127.0.0.1] [--port 8010]: run the simulator with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(prog="daraja_sim", description="Local Daraja (M-PESA) simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    args = parser.parse_args()
    uvicorn.run("daraja_sim.app:create_app", factory=True, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
