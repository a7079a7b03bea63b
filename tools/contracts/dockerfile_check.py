"""Check the one service Dockerfile (ARG SERVICE) without a Docker engine, for one service at a time."""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath

from deployment import SERVICE_PORT


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions, current = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        current += " " + stripped.rstrip("\\").strip() if current else stripped.rstrip("\\").strip()
        if not stripped.endswith("\\"):
            keyword, _, arguments = current.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
            current = ""
    return instructions


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand(arguments: str, values: dict[str, str]) -> str:
    """${NAME} / $NAME replaced by a declared ARG's or ENV's value (unknown names stay as they are)."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1) or m.group(2), m.group(0)), arguments)


def dockerfile_problems(path: Path, context: Path, service: str, build_args: dict[str, str] | None = None) -> list[str]:
    """What the Dockerfile gets wrong when built for `service`: missing COPY sources, root user, build tools,
    paths. build_args are the --build-arg values (SERVICE defaults to the service's name); an ARG is seen
    only in the stages that declare it, as in docker build."""
    label = str(path.relative_to(context)) if path.is_relative_to(context) else str(path)
    if not path.is_file():
        return [f"{label}: missing"]
    given = {"SERVICE": service, **(build_args or {})}
    problems: list[str] = []
    stages: list[list[tuple[str, str]]] = []
    values: dict[str, str] = {}
    for keyword, raw_arguments in dockerfile_instructions(path):
        arguments = expand(raw_arguments, values) if keyword not in ("CMD", "ENTRYPOINT", "RUN") else raw_arguments
        if keyword == "FROM":
            stages.append([])
            values = {}
            image = arguments.split()[0]
            if image != "python:3.11-slim" and not image.startswith("python:3.11-slim@"):
                problems.append(f"{label}: every stage must start FROM python:3.11-slim, not {image}")
        if not stages:
            continue
        if keyword == "ARG":
            arg_name, _, default = arguments.partition("=")
            values[arg_name] = given.get(arg_name, default)
        elif keyword == "ENV":
            for assignment in shlex.split(arguments):
                if "=" in assignment:
                    key, _, value = assignment.partition("=")
                    values[key] = value
        elif keyword in ("CMD", "ENTRYPOINT"):
            arguments = expand(raw_arguments, values)
        stages[-1].append((keyword, arguments))
        if keyword in ("COPY", "ADD"):
            words = shlex.split(arguments)
            if any(w.startswith("--from") for w in words):
                continue
            sources = [w for w in words if not w.startswith("--")][:-1]
            for source in sources:
                if not any(context.glob(source)) and not (context / source).exists():
                    problems.append(f"{label}: COPY source {source} does not exist in the build context")
    if len(stages) < 2:
        problems.append(f"{label}: must be multi-stage (build wheels, then install only them)")
        return problems
    final = stages[-1]
    users = [a for k, a in final if k == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append(f"{label}: the final stage must run as a non-root USER")
    if ("EXPOSE", str(SERVICE_PORT)) not in final:
        problems.append(f"{label}: the final stage must EXPOSE {SERVICE_PORT}")
    for keyword, arguments in final:
        if keyword == "RUN" and re.search(r"apt-get|apk add|gcc|build-essential", arguments):
            problems.append(f"{label}: no build tools in the final stage ({arguments[:60]})")
        if keyword == "RUN" and "pip install" in arguments and "--no-index" not in arguments:
            problems.append(f"{label}: the final stage installs wheels only (pip install --no-index)")
    workdir = PurePosixPath("/")
    copied = set()
    for keyword, arguments in final:
        if keyword == "WORKDIR":
            workdir = workdir / arguments
        elif keyword == "COPY":
            destination = [w for w in shlex.split(arguments) if not w.startswith("--")][-1]
            copied.add(str(workdir / destination).rstrip("/"))
    for needed in (f"/app/services/{service}/alembic.ini", f"/app/services/{service}/migrations"):
        if needed not in copied:
            problems.append(f"{label}: the final stage must COPY {needed} (the migration job runs it)")
    commands = " ".join(a for k, a in final if k in ("CMD", "ENTRYPOINT"))
    if f"{service}.app:create_app" not in commands or "--factory" not in commands:
        problems.append(f"{label}: CMD must run uvicorn {service}.app:create_app --factory")
    return problems

