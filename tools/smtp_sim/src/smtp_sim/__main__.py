"""python -m smtp_sim --port 8025 --maildir .jesh/mail: an SMTP server on loopback that keeps mail in a Maildir."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def main() -> None:
    parser = argparse.ArgumentParser(prog="smtp_sim", description="Local SMTP server keeping mail in a Maildir")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", default=".jesh/mail")
    args = parser.parse_args()
    folder = Path(args.maildir).resolve()
    for sub in ("tmp", "new", "cur"):  # a Maildir, even in a folder that already exists
        (folder / sub).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(str(folder)), hostname=args.host, port=args.port)
    controller.start()
    print(f"smtp_sim: listening on {args.host}:{args.port}, keeping mail in {folder}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
