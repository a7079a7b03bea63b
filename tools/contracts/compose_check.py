"""Check docker-compose.yml without a Docker engine: against the Compose schema and against the code.

    .venv/bin/python tools/contracts/compose_check.py      # prints every problem; exit 1 if any

Against the code means: the five services (and their migration jobs) are there; each service's Settings
class would start in production with the environment compose gives it; peer URLs point at services that
exist; each DATABASE_URL names the service's own database and role; every gateway backend URL points at
the right service; every path a Dockerfile copies exists; every secret is required through ${VAR:?}.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import shlex
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE_SCHEMA = SHARED / "compose-spec.json"
ENV_EXAMPLE = REPO / "deploy" / ".env.example"
SERVICES = ("auth", "inventory", "booking", "payments", "transport", "billing")
SERVICE_PORT = 8000

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, ${VAR:+alt}; $$ is a literal $.
_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_REQUIRED_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*):?\?[^}]*\}$")
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PASSKEY|(^|_)KEY$|SIGNING_KEY|PRIVATE")


# --- interpolation ---------------------------------------------------------------------------------
class MissingVariable(KeyError):
    pass


def interpolate(value: Any, variables: Mapping[str, str]) -> Any:
    """Compose's interpolation of every string in a loaded compose tree."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2) or "", match.group(3) or ""
        present = name in variables and (variables[name] != "" or not operator.startswith(":"))
        if operator.endswith("?") and not present:
            raise MissingVariable(f"{name}: {argument or 'required'}")
        if operator.endswith("-") and not present:
            return argument
        if operator.endswith("+"):
            return argument if present else ""
        return variables.get(name, "")

    return _REFERENCE.sub(replace, value)


def referenced_variables(tree: Any) -> dict[str, str]:
    """Every ${VAR} the tree uses -> 'required' (${VAR:?}), 'default' (${VAR:-x}) or 'plain'."""
    found: dict[str, str] = {}
    rank = {"plain": 0, "default": 1, "required": 2}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            for match in _REFERENCE.finditer(value):
                name = match.group(1) or match.group(4)
                if not name:
                    continue
                operator = match.group(2) or ""
                kind = "required" if "?" in operator else "default" if operator else "plain"
                if rank[kind] > rank.get(found.get(name, ""), -1):
                    found[name] = kind

    walk(tree)
    return found


def env_example_values(path: Path = ENV_EXAMPLE, *, documented: bool = False) -> dict[str, str]:
    """NAME=value lines of the example env file; documented=True also counts commented-out '# NAME=value'."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    pattern = r"^\s*#?\s*([A-Z][A-Z0-9_]*)=(.*)$" if documented else r"^\s*([A-Z][A-Z0-9_]*)=(.*)$"
    for line in path.read_text().splitlines():
        match = re.match(pattern, line)
        if match:
            values.setdefault(match.group(1), match.group(2).strip().strip('"').strip("'"))
    return values


def dummy_value(name: str) -> str:
    """A plausible, non-development value for a required variable (never a real secret)."""
    if name.endswith("_EMAIL"):
        return "operations@example.com"
    if name.endswith("_URL"):
        return "https://storage.example.com"
    if "SIGNING_KEY" in name or "PRIVATE_KEY" in name:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    if name.endswith("SHORTCODE"):
        return "174379"
    # hex: no word a validator might refuse (Safaricom's callback URL check refuses "mpesa", "sql"...)
    return "d" + hashlib.sha256(name.encode()).hexdigest()[:31]


def deployment_variables(compose: Mapping[str, Any], example: Path = ENV_EXAMPLE) -> dict[str, str]:
    """What an operator's .env would hold: the example's values, dummies for required ones left blank."""
    examples = env_example_values(example)
    values = {}
    for name, kind in referenced_variables(compose).items():
        if kind == "required":
            values[name] = examples.get(name) or dummy_value(name)
    return values


# --- loading -----------------------------------------------------------------------------------------
def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def schema_problems(compose: Mapping[str, Any], schema_path: Path = COMPOSE_SCHEMA) -> list[str]:
    """Validate against the Compose Specification's JSON Schema, before and after interpolation."""
    from jsonschema import Draft7Validator

    validator = Draft7Validator(json.loads(schema_path.read_text()))
    problems = []
    for label, tree in (("raw", compose), ("interpolated", interpolate(compose, deployment_variables(compose)))):
        for error in validator.iter_errors(tree):
            where = "/".join(map(str, error.absolute_path)) or "<top>"
            problems.append(f"compose schema ({label}) {where}: {error.message}")
    return problems


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def dependencies_of(service: Mapping[str, Any]) -> dict[str, str]:
    """depends_on as {service: condition}; the short list form means service_started."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


# --- the checks --------------------------------------------------------------------------------------
def check_compose(compose: Mapping[str, Any], repo: Path = REPO) -> list[str]:
    """Every way the compose file disagrees with the code and the deployment rules; [] when it agrees."""
    try:
        resolved = interpolate(compose, deployment_variables(compose, repo / "deploy" / ".env.example"))
    except MissingVariable as exc:
        return [f"interpolation: {exc}"]
    problems: list[str] = []
    problems += _check_services_present(compose)
    problems += _check_dependencies_and_health(compose)
    problems += _check_secrets(compose)
    problems += _check_settings(compose, resolved)
    problems += _check_databases(compose, resolved)
    problems += _check_peer_urls(resolved)
    problems += _check_gateway(compose, resolved, repo)
    problems += _check_dockerfiles(compose, repo)
    problems += _check_env_example(compose, repo)
    return problems


def _services(compose: Mapping[str, Any]) -> dict[str, Any]:
    return dict(compose.get("services") or {})


def _check_services_present(compose: Mapping[str, Any]) -> list[str]:
    services, problems = _services(compose), []
    for infrastructure in ("traefik", "postgres", "nats"):
        if infrastructure not in services:
            problems.append(f"{infrastructure}: missing from services")
    for name in SERVICES:
        service = services.get(name)
        if service is None:
            problems.append(f"{name}: missing from services")
            continue
        build = service.get("build") or {}
        if not isinstance(build, dict) or build.get("dockerfile") != f"services/{name}/Dockerfile":
            problems.append(f"{name}: must be built from services/{name}/Dockerfile (build.dockerfile)")
        elif build.get("context") not in (".", "./"):
            problems.append(f"{name}: the build context must be the repository root ('.')")
        if not service.get("restart"):
            problems.append(f"{name}: needs a restart policy")
        migrate_name = f"{name}-migrate"
        migrate = services.get(migrate_name)
        if migrate is None:
            problems.append(f"{name}: no {migrate_name} job runs its migrations before it starts")
            continue
        command = migrate.get("command") or []
        command = shlex.split(command) if isinstance(command, str) else list(command)
        if command[:1] != ["alembic"] or command[-2:] != ["upgrade", "head"] or (
            f"/app/services/{name}/alembic.ini" not in command
        ):
            problems.append(f"{migrate_name}: command must be alembic -c /app/services/{name}/alembic.ini upgrade head")
        if migrate.get("build") != service.get("build") or migrate.get("image") != service.get("image"):
            problems.append(f"{migrate_name}: must use the same build and image as {name}")
        if environment_of(migrate) != environment_of(service):
            problems.append(f"{migrate_name}: must have the same environment as {name} (same database, same settings)")
        if dependencies_of(service).get(migrate_name) != "service_completed_successfully":
            problems.append(f"{name}: must depend on {migrate_name} with condition service_completed_successfully")
    for name, service in services.items():
        text = f"{name} {service.get('image', '')}".lower()
        if ("daraja" in text or "simulator" in text) and "dev" not in (service.get("profiles") or []):
            problems.append(f"{name}: the Daraja simulator must not run in production (profiles: [dev] at most)")
    return problems


def _has_healthcheck(service: Mapping[str, Any]) -> bool:
    check = service.get("healthcheck") or {}
    return bool(check.get("test")) and not check.get("disable") and check.get("test") != ["NONE"]


def _check_dependencies_and_health(compose: Mapping[str, Any]) -> list[str]:
    services, problems = _services(compose), []
    for name, service in services.items():
        for target, condition in dependencies_of(service).items():
            if target not in services:
                problems.append(f"{name}: depends_on {target}, which is not a service")
            elif condition == "service_started":
                problems.append(f"{name}: depends_on {target} must wait for a condition (service_healthy)")
            elif condition == "service_healthy" and not _has_healthcheck(services[target]):
                problems.append(f"{name}: waits for {target} to be healthy but {target} has no healthcheck")
            elif condition == "service_completed_successfully":
                restart = str(services[target].get("restart", "no"))
                if restart != "no" and not restart.startswith("on-failure"):
                    problems.append(f"{target}: a one-shot job must not restart forever (restart: 'no')")
        is_job = name.endswith("-migrate")
        if not is_job and not _has_healthcheck(service):
            problems.append(f"{name}: needs a healthcheck")
    for name in SERVICES:
        deps = dependencies_of(services.get(name) or {})
        for infrastructure in ("postgres", "nats"):
            if name in services and deps.get(infrastructure) != "service_healthy":
                problems.append(f"{name}: must depend on {infrastructure} with condition service_healthy")
    return problems


def _check_secrets(compose: Mapping[str, Any]) -> list[str]:
    """A secret never has a value in the file; it comes from ${VAR:?message}."""
    problems = []
    for name, service in _services(compose).items():
        for key, value in environment_of(service).items():
            if _SECRET_NAME.search(key) and not _REQUIRED_REFERENCE.match(value):
                problems.append(f"{name}: {key} is a secret and must be given as ${{{key}:?message}}")
            for url_password in re.findall(r"://[^/:@\s]+:([^@\s]+)@", value):
                if not _REQUIRED_REFERENCE.match(url_password):
                    problems.append(f"{name}: the password inside {key} must be a ${{VAR:?message}} reference")
    return problems


def _env_names(field_name: str, field: Any) -> list[str]:
    """The environment variable(s) pydantic-settings reads for a field (no prefix, case-insensitive)."""
    from pydantic import AliasChoices, AliasPath

    alias = field.validation_alias or field.alias
    if isinstance(alias, str):
        return [alias.upper()]
    if isinstance(alias, AliasChoices):
        return [choice.upper() for choice in alias.choices if isinstance(choice, str)]
    if isinstance(alias, AliasPath):
        return [str(alias.path[0]).upper()]
    return [field_name.upper()]


@contextmanager
def environment_for(cls: Any, values: Mapping[str, str]) -> Iterator[None]:
    """Inside the block, the variables `cls` reads are exactly those in `values` (as in the container)."""
    names = {name for field_name, field in cls.model_fields.items() for name in _env_names(field_name, field)}
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.upper() in names:
            del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def settings_class(service: str) -> Any:
    return importlib.import_module(f"{service}.settings").Settings


def _check_settings(compose: Mapping[str, Any], resolved: Mapping[str, Any]) -> list[str]:
    from pydantic import ValidationError

    problems = []
    raw_services, services = _services(compose), _services(resolved)
    for name in SERVICES:
        if name not in services:
            continue
        raw_env, env = environment_of(raw_services[name]), environment_of(services[name])
        given = {key.upper() for key in env}
        cls = settings_class(name)
        if env.get("ENVIRONMENT") != "production":
            problems.append(f"{name}: ENVIRONMENT must be production")
        for field_name, field in cls.model_fields.items():
            names = _env_names(field_name, field)
            if given.isdisjoint(names) and field.is_required():
                problems.append(f"{name}: its Settings require {names[0]}, which compose does not provide")
            default = field.default if isinstance(field.default, str) else ""
            if given.isdisjoint(names) and re.search(r"//([^/@]*@)?(127\.0\.0\.1|localhost)\b", default):
                problems.append(f"{name}: {names[0]} defaults to {default!r}, which means the container itself")
        try:
            with environment_for(cls, env):
                settings = cls()
        except ValidationError as exc:
            reasons = "; ".join(error["msg"] for error in exc.errors())
            problems.append(f"{name}: would refuse to start in production with the compose environment: {reasons}")
            continue
        for label in settings.secrets_to_check():
            candidates = re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", label) or [label.upper()]
            provided = [c for c in candidates if c in given]
            if not provided:
                problems.append(f"{name}: secret {label} is not provided")
            elif not any(_REQUIRED_REFERENCE.match(raw_env.get(c, "")) for c in provided):
                problems.append(f"{name}: secret {label} must come from ${{VAR:?message}}")
    return problems


def _check_databases(compose: Mapping[str, Any], resolved: Mapping[str, Any]) -> list[str]:
    from sqlalchemy.engine import make_url

    problems = []
    raw_services, services = _services(compose), _services(resolved)
    postgres_raw = environment_of(raw_services.get("postgres") or {})
    initialised = set((postgres_raw.get("JESH_SERVICES") or "").split())
    if initialised != set(SERVICES):
        problems.append(f"postgres: JESH_SERVICES must list exactly {' '.join(SERVICES)} (init script)")
    mounts = [str(v) for v in (raw_services.get("postgres") or {}).get("volumes") or []]
    if not any(m.split(":")[1:2] == ["/docker-entrypoint-initdb.d"] for m in mounts):
        problems.append("postgres: deploy/postgres/initdb must be mounted at /docker-entrypoint-initdb.d")
    users: dict[str, str] = {}
    for name in SERVICES:
        if name not in services:
            continue
        raw = environment_of(raw_services[name]).get("DATABASE_URL", "")
        value = environment_of(services[name]).get("DATABASE_URL", "")
        if not value:
            problems.append(f"{name}: DATABASE_URL missing")
            continue
        url = make_url(value)
        if url.database != name or url.username != name:
            problems.append(f"{name}: DATABASE_URL must use database {name!r} and role {name!r} "
                            f"(got {url.database!r} as {url.username!r})")
        if url.username in users:
            problems.append(f"{name}: shares the database role {url.username!r} with {users[url.username]}")
        users[url.username or ""] = name
        password_ref = re.search(r"://[^:@/]+:(\$\{[^}]+\})@", raw)
        expected = f"{name.upper()}_DB_PASSWORD"
        match = _REQUIRED_REFERENCE.match(password_ref.group(1)) if password_ref else None
        if not match or match.group(1) != expected:
            problems.append(f"{name}: the DATABASE_URL password must be ${{{expected}:?...}}")
        elif not _REQUIRED_REFERENCE.match(postgres_raw.get(expected, "")):
            problems.append(f"postgres: needs {expected} (required) to create the {name} role")
    return problems


def _check_peer_urls(resolved: Mapping[str, Any]) -> list[str]:
    """Every internal URL a service is given names a compose service (external hosts have a dot).

    The gateway's backend URLs are checked more closely by _check_gateway."""
    services, problems = _services(resolved), []
    for name, service in services.items():
        if name == "traefik":
            continue
        for key, value in environment_of(service).items():
            for url in value.split(","):
                parts = urlsplit(url.strip())
                if not parts.scheme or not parts.hostname or "." in parts.hostname:
                    continue
                if parts.hostname not in services:
                    problems.append(f"{name}: {key} points at {parts.hostname!r}, which is not a compose service")
    return problems


def _service_of(services: Mapping[str, Any], host: str) -> str | None:
    """Which of the five services a compose service runs (by the Dockerfile it is built from)."""
    build = (services.get(host) or {}).get("build") or {}
    match = re.fullmatch(r"services/([a-z]+)/Dockerfile", str(build.get("dockerfile", "")))
    return match.group(1) if match else None


def _check_gateway(compose: Mapping[str, Any], resolved: Mapping[str, Any], repo: Path) -> list[str]:
    services, problems = _services(resolved), []
    traefik = services.get("traefik")
    if traefik is None:
        return []
    env = environment_of(traefik)
    for name in SERVICES:
        key = f"JESH_{name.upper()}_URLS"
        if key not in env:
            problems.append(f"traefik: {key} missing (the gateway's backends for {name})")
    for key, value in env.items():
        match = re.fullmatch(r"JESH_([A-Z]+)_URLS", key)
        if not match:
            continue
        for url in filter(None, (u.strip() for u in value.split(","))):
            parts = urlsplit(url)
            host = parts.hostname or ""
            if host not in services:
                problems.append(f"traefik: {key} points at {host!r}, which is not a compose service")
            elif _service_of(services, host) != match.group(1).lower():
                problems.append(f"traefik: {key} points at {host!r}, which does not run {match.group(1).lower()}")
            elif (parts.port or 80) != SERVICE_PORT:
                problems.append(f"traefik: {key} must use port {SERVICE_PORT} (where uvicorn listens)")
    gateway = repo / "gateway"
    mounts = [str(v) for v in (_services(compose)["traefik"].get("volumes") or [])]
    if "./gateway:/etc/traefik:ro" not in mounts:
        problems.append("traefik: ./gateway must be mounted read-only at /etc/traefik")
    static_file = gateway / "traefik.yml"
    if not static_file.is_file():
        return [*problems, "gateway/traefik.yml is missing"]
    static = yaml.safe_load(static_file.read_text()) or {}
    directory = ((static.get("providers") or {}).get("file") or {}).get("directory", "")
    if not str(directory).startswith("/etc/traefik/") or not (gateway / str(directory)[len("/etc/traefik/"):]).is_dir():
        problems.append(f"gateway/traefik.yml: file provider directory {directory!r} is not a folder of gateway/")
    knobs = set()
    for dynamic in sorted(gateway.glob("dynamic/*.y*ml")):
        knobs |= set(re.findall(r"""env\s+["']([A-Z][A-Z0-9_]*)["']""", dynamic.read_text()))
    for key in sorted(knobs - set(env)):
        problems.append(f"traefik: the gateway reads {key} but compose does not pass it to Traefik")
    entry_points = static.get("entryPoints") or {}
    ports = [str(p) for p in traefik.get("ports") or []]
    web = str((entry_points.get("web") or {}).get("address", ""))
    if not web or not any(p.endswith(web) for p in ports):
        problems.append(f"traefik: no published port reaches the web entry point ({web or 'undefined'})")
    ping_entry = (static.get("ping") or {}).get("entryPoint", "traefik")
    ping_address = str((entry_points.get(ping_entry) or {}).get("address", ""))
    test = " ".join(map(str, (traefik.get("healthcheck") or {}).get("test") or []))
    if not ping_address or f"127.0.0.1{ping_address}/ping" not in test:
        problems.append(f"traefik: the healthcheck must call /ping on the {ping_entry} entry point ({ping_address})")
    return problems


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


def dockerfile_problems(path: Path, context: Path, service: str) -> list[str]:
    """What a service's Dockerfile gets wrong: missing COPY sources, root user, build tools, paths."""
    label = str(path.relative_to(context)) if path.is_relative_to(context) else str(path)
    if not path.is_file():
        return [f"{label}: missing"]
    problems: list[str] = []
    stages: list[list[tuple[str, str]]] = []
    for keyword, arguments in dockerfile_instructions(path):
        if keyword == "FROM":
            stages.append([])
            image = arguments.split()[0]
            if image != "python:3.11-slim" and not image.startswith("python:3.11-slim@"):
                problems.append(f"{label}: every stage must start FROM python:3.11-slim, not {image}")
        if not stages:
            continue
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


def _check_dockerfiles(compose: Mapping[str, Any], repo: Path) -> list[str]:
    problems = []
    for name in SERVICES:
        build = (_services(compose).get(name) or {}).get("build")
        if not isinstance(build, dict):
            continue
        context = (repo / str(build.get("context", "."))).resolve()
        problems += dockerfile_problems(context / str(build.get("dockerfile", "Dockerfile")), context, name)
    return problems


def _check_env_example(compose: Mapping[str, Any], repo: Path) -> list[str]:
    documented = env_example_values(repo / "deploy" / ".env.example", documented=True)
    if not documented:
        return ["deploy/.env.example is missing"]
    return [
        f"deploy/.env.example does not document {name} ({kind})"
        for name, kind in sorted(referenced_variables(compose).items())
        if name not in documented
    ]


def main() -> int:
    compose = load_compose()
    problems = schema_problems(compose) + check_compose(compose)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"docker-compose.yml: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
