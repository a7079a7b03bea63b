"""Child processes of the local stack: started with their output in a log file (and the console), stopped, and
restarted when they die without being asked to."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from jeshstack.paths import REPO
from jeshstack.procs import stop_process


class ManagedProcess:
    """A child process whose output goes, line by line and prefixed, to its log file (and the console)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_file: Path, console: TextIO | None) -> None:
        self.name = name
        self.cmd = cmd
        self.env = env
        self.log_file = log_file
        self.console = console
        self.proc: subprocess.Popen[bytes] | None = None
        self.wanted = False  # False after an intentional stop: the supervisor leaves it down
        self.restarts = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self.wanted = True
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO,
                start_new_session=True,
            )
            threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with open(self.log_file, "ab") as log:
            for raw in proc.stdout:
                log.write(raw)
                log.flush()
                if self.console is not None:
                    line = raw.decode("utf-8", errors="replace").rstrip()
                    try:
                        self.console.write(f"{self.name:<12}| {line}\n")
                        self.console.flush()
                    except (ValueError, OSError):
                        pass

    def stop(self) -> None:
        with self._lock:
            self.wanted = False
            stop_process(self.proc)

    def crashed(self) -> bool:
        return self.wanted and self.proc is not None and self.proc.poll() is not None


def supervise(processes: Mapping[str, ManagedProcess], stop: threading.Event, say: Callable[[str], None],
              on_restart: Callable[[str], None] | None = None) -> None:
    """Restart any process that died without being asked to, with a short backoff."""
    while not stop.wait(1.0):
        for name, proc in list(processes.items()):
            if proc.crashed():
                proc.restarts += 1
                if on_restart:
                    on_restart(name)
                say(f"{name} exited ({proc.proc.returncode if proc.proc else '?'}); restarting")
                time.sleep(min(proc.restarts, 5))
                if proc.crashed():
                    proc.start()
