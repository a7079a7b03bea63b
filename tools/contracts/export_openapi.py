"""Export each service's OpenAPI document to contracts/openapi/<service>.json, or check it has not drifted.

    .venv/bin/python tools/contracts/export_openapi.py            # rewrite every file
    .venv/bin/python tools/contracts/export_openapi.py --check    # exit 1 with a diff when code and file differ
    .venv/bin/python tools/contracts/export_openapi.py booking    # only some services

The app is built with the service's default Settings; create_app() connects to nothing (PostgreSQL and
NATS are only reached in the lifespan), so no infrastructure is needed.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OPENAPI_DIR = REPO / "contracts" / "openapi"
SERVICES = ("auth", "inventory", "booking", "payments", "transport", "billing", "notifications")


def render(service: str) -> str:
    """The service's OpenAPI document as committed: sorted keys, 2-space indent, trailing newline."""
    settings = importlib.import_module(f"{service}.settings").Settings(environment="development")
    app = importlib.import_module(f"{service}.app").create_app(settings)
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def drift(service: str, openapi_dir: Path = OPENAPI_DIR, rendered: str | None = None) -> str:
    """A unified diff from the committed file to what the code produces; '' when they agree."""
    path = openapi_dir / f"{service}.json"
    if not path.is_file():
        return f"contracts/openapi/{service}.json is missing\n"
    committed = path.read_text()
    current = render(service) if rendered is None else rendered
    if committed == current:
        return ""
    return "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile=f"contracts/openapi/{service}.json (committed)",
            tofile=f"contracts/openapi/{service}.json (from the code)",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", metavar="service", help=f"any of {', '.join(SERVICES)} (default: all)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file differs")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.services) - set(SERVICES))
    if unknown:
        parser.error(f"unknown service(s): {', '.join(unknown)}")
    failed = False
    for service in args.services or SERVICES:
        if args.check:
            diff = drift(service)
            if diff:
                failed = True
                sys.stdout.write(diff)
                print(f"{service}: OpenAPI drifted; run tools/contracts/export_openapi.py", file=sys.stderr)
        else:
            OPENAPI_DIR.mkdir(parents=True, exist_ok=True)
            (OPENAPI_DIR / f"{service}.json").write_text(render(service))
            print(f"wrote contracts/openapi/{service}.json")
    if not args.check:
        from api_reference import main as write_reference  # the merged reference follows the files

        write_reference([])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
