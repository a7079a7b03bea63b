"""The web portal (web/) in the local stack: built when its sources changed, served by a tiny static server.

`./jesh up` and the browser tests call ensure_built(): `npm ci` when package-lock.json changed since the last
install, `npm run build` (which regenerates the typed API client from contracts/openapi first) when a source,
the lockfile or a contract changed since the last build. serve() is the static server process: the built
files, index.html for any other path (the portal routes in the browser), /healthz for the gateway.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO

from jeshstack.paths import REPO

WEB = REPO / "web"
DIST = WEB / "dist"
INSTALL_STAMP = WEB / "node_modules" / ".jesh-npm-ci"
BUILD_STAMP = DIST / ".jesh-build"
BUILD_LOCK = WEB / ".jesh-build.lock"  # held while installing and building
# What a build reads: a change to any of these makes the next `./jesh up` rebuild.
BUILD_INPUTS = ("src", "public", "scripts", "index.html", "package.json", "package-lock.json", "tsconfig.json",
                "vite.config.ts")


class WebBuildError(RuntimeError):
    pass


def _files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += [p for p in path.rglob("*") if p.is_file() and "generated" not in p.relative_to(path).parts]
        elif path.is_file():
            out.append(path)
    return sorted(out)


def fingerprint(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for file in _files(paths):
        digest.update(str(file.relative_to(REPO)).encode())
        digest.update(b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _build_fingerprint() -> str:
    return fingerprint([WEB / name for name in BUILD_INPUTS] + [REPO / "contracts" / "openapi"])


def _run(cmd: list[str], console: TextIO | None) -> None:
    if console is not None:
        console.write(f"{'web':<12}| {' '.join(cmd)}\n")
        console.flush()
    result = subprocess.run(cmd, cwd=WEB, capture_output=True, text=True, env={**os.environ, "CI": "1"})
    if result.returncode != 0:
        raise WebBuildError(f"`{' '.join(cmd)}` failed in {WEB}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


def npm() -> str:
    found = shutil.which("npm")
    if not found:
        raise WebBuildError("npm is needed to build web/ (Node.js 20.19 or later)")
    return found


def ensure_installed(console: TextIO | None = None) -> None:
    """`npm ci` unless node_modules matches package-lock.json already."""
    want = fingerprint([WEB / "package-lock.json"])
    if INSTALL_STAMP.is_file() and INSTALL_STAMP.read_text() == want:
        return
    _run([npm(), "ci", "--no-audit", "--no-fund"], console)
    INSTALL_STAMP.write_text(want)


def ensure_built(console: TextIO | None = None) -> Path:
    """Build web/ into web/dist unless it was built from these very sources; gives the dist folder. One process at a
    time (two test workers' stacks, or `./jesh up` beside a test run, would otherwise install and build together)."""
    with BUILD_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ensure_installed(console)
        want = _build_fingerprint()
        if BUILD_STAMP.is_file() and BUILD_STAMP.read_text() == want and (DIST / "index.html").is_file():
            return DIST
        _run([npm(), "run", "build"], console)
        BUILD_STAMP.write_text(want)
        return DIST


class PortalHandler(SimpleHTTPRequestHandler):
    """Built files as they are; every other GET is index.html (client-side routes). No directory listings."""

    server_version = "jesh-web"
    sys_version = ""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/healthz":
            self._plain(HTTPStatus.OK, b"ok")
            return
        super().do_GET()

    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        root = Path(self.directory).resolve()
        if path.is_dir() and (path / "index.html").is_file() and path != root:  # /api/docs: a page of its own
            self.path = self.path.split("?", 1)[0].rstrip("/") + "/index.html"
            path = path / "index.html"
        if not path.is_file() or path.name.startswith("."):
            if self.path.startswith("/assets/"):
                self._plain(HTTPStatus.NOT_FOUND, b"not found")
                return None
            path = root / "index.html"
            if not path.is_file():
                self._plain(HTTPStatus.SERVICE_UNAVAILABLE, b"the portal is not built yet (./jesh up builds it)")
                return None
            self.path = "/index.html"
        return super().send_head()

    def end_headers(self) -> None:
        # Hashed file names under /assets/ never change; index.html must be asked for again every time.
        immutable = self.path.startswith("/assets/")
        self.send_header("Cache-Control", "public, max-age=31536000, immutable" if immutable else "no-cache")
        super().end_headers()

    def _plain(self, status: HTTPStatus, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(root: Path, port: int, host: str = "127.0.0.1") -> None:
    server = ThreadingHTTPServer((host, port), partial(PortalHandler, directory=str(root)))
    server.daemon_threads = True
    try:
        server.serve_forever()
    finally:
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="serve the built portal (web/dist) with a fallback to index.html")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", type=Path, default=DIST)
    args = parser.parse_args()
    serve(args.root, args.port)


if __name__ == "__main__":
    main()
