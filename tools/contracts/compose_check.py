"""Check docker-compose.yml without a Docker engine: against the Compose schema and against the code.

    .venv/bin/python tools/contracts/compose_check.py      # prints every problem; exit 1 if any

Against the code means: the services of deploy/services.yml (and their migration jobs) are there; each
service's Settings class would start in production with the environment compose gives it; peer URLs point
at services that exist; each DATABASE_URL names the service's own database and role; every gateway backend
URL points at the right service; the one Dockerfile builds each service; every secret is required through
${VAR:?}. The pieces: compose_env (interpolation), settings_check, dockerfile_check, deployment (the list).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from compose_backups import backup_problems
from compose_env import (
    ENV_EXAMPLE,
    REQUIRED_REFERENCE,
    MissingVariable,
    deployment_variables,
    env_example_values,
    interpolate,
    referenced_variables,
)
from compose_monitoring import monitoring_problems
from compose_parts import dependencies_of, environment_of, services_of
from deployment import REPO, SECRET_NAME, SERVICE_PORT, SERVICES, dummy_value
from dockerfile_check import dockerfile_instructions, dockerfile_problems
from settings_check import environment_for, settings_problems
from settings_check import settings_class as settings_class

from jeshstack.gateway import dynamic_env_knobs

SHARED = REPO / ".." / "shared"
COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE_SCHEMA = SHARED / "compose-spec.json"
DOCKERFILE = "Dockerfile"

__all__ = [
    "COMPOSE_FILE", "COMPOSE_SCHEMA", "ENV_EXAMPLE", "SERVICES", "MissingVariable", "check_compose",
    "deployment_variables", "dockerfile_instructions", "dockerfile_problems", "dummy_value", "environment_for",
    "environment_of", "interpolate", "load_compose", "schema_problems", "settings_class",
]


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
    problems += backup_problems(compose)
    problems += monitoring_problems(compose, resolved, repo)
    problems += _check_peer_urls(resolved)
    problems += _check_gateway(compose, resolved, repo)
    problems += _check_dockerfiles(compose, repo)
    problems += _check_env_example(compose, repo)
    return problems


def _check_services_present(compose: Mapping[str, Any]) -> list[str]:
    services, problems = services_of(compose), []
    for infrastructure in ("traefik", "postgres", "nats"):
        if infrastructure not in services:
            problems.append(f"{infrastructure}: missing from services")
    for name in SERVICES:
        service = services.get(name)
        if service is None:
            problems.append(f"{name}: missing from services")
            continue
        build = service.get("build") or {}
        if not isinstance(build, dict) or build.get("dockerfile") != DOCKERFILE:
            problems.append(f"{name}: must be built from the one {DOCKERFILE} (build.dockerfile)")
        elif (build.get("args") or {}).get("SERVICE") != name:
            problems.append(f"{name}: must be built with build.args.SERVICE: {name}")
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
    services, problems = services_of(compose), []
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
        is_job = name.endswith("-migrate") or str(service.get("restart", "")) == "no"  # a one-shot job
        if not is_job and not _has_healthcheck(service):
            problems.append(f"{name}: needs a healthcheck")
    for name in SERVICES:
        deps = dependencies_of(services.get(name) or {})
        for infrastructure in ("postgres", "nats"):
            if name in services and deps.get(infrastructure) != "service_healthy":
                problems.append(f"{name}: must depend on {infrastructure} with condition service_healthy")
    return problems


# A secret that turns an optional feature on (empty: off), e.g. MPESA_C2B_TOKEN: ${VAR:-} gives it no value either.
OPTIONAL_SECRETS = frozenset({"MPESA_C2B_TOKEN", "MPESA_C2B_SECURITY_CREDENTIAL", "AWS_SECRET_ACCESS_KEY"})


def _check_secrets(compose: Mapping[str, Any]) -> list[str]:
    """A secret never has a value in the file; it comes from ${VAR:?message} (or ${VAR:-} for an optional one)."""
    problems = []
    for name, service in services_of(compose).items():
        for key, value in environment_of(service).items():
            optional = key in OPTIONAL_SECRETS and value == f"${{{key}:-}}"
            if SECRET_NAME.search(key) and not REQUIRED_REFERENCE.match(value) and not optional:
                problems.append(f"{name}: {key} is a secret and must be given as ${{{key}:?message}}")
            for url_password in re.findall(r"://[^/:@\s]+:([^@\s]+)@", value):
                if not REQUIRED_REFERENCE.match(url_password):
                    problems.append(f"{name}: the password inside {key} must be a ${{VAR:?message}} reference")
    return problems


def _check_settings(compose: Mapping[str, Any], resolved: Mapping[str, Any]) -> list[str]:
    problems = []
    raw_services, services = services_of(compose), services_of(resolved)
    for name in SERVICES:
        if name not in services:
            continue
        raw_env = environment_of(raw_services[name])
        from_secrets = [key for key, value in raw_env.items() if REQUIRED_REFERENCE.match(value)]
        problems += settings_problems(
            name, settings_class(name), environment_of(services[name]), from_secrets,
            source="compose", secret_rule="${VAR:?message}",
        )
    return problems


def _check_databases(compose: Mapping[str, Any], resolved: Mapping[str, Any]) -> list[str]:
    from sqlalchemy.engine import make_url

    problems = []
    raw_services, services = services_of(compose), services_of(resolved)
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
        match = REQUIRED_REFERENCE.match(password_ref.group(1)) if password_ref else None
        if not match or match.group(1) != expected:
            problems.append(f"{name}: the DATABASE_URL password must be ${{{expected}:?...}}")
        elif not REQUIRED_REFERENCE.match(postgres_raw.get(expected, "")):
            problems.append(f"postgres: needs {expected} (required) to create the {name} role")
    return problems


def _check_peer_urls(resolved: Mapping[str, Any]) -> list[str]:
    """Every internal URL a service is given names a compose service (external hosts have a dot).

    The gateway's backend URLs are checked more closely by _check_gateway."""
    services, problems = services_of(resolved), []
    for name, service in services.items():
        if name == "traefik":
            continue
        for key, value in environment_of(service).items():
            for url in value.split(","):
                parts = urlsplit(url.strip())
                if not parts.scheme or not parts.hostname or "." in parts.hostname or parts.hostname == "localhost":
                    continue
                if parts.hostname not in services:
                    problems.append(f"{name}: {key} points at {parts.hostname!r}, which is not a compose service")
    return problems


def _service_of(services: Mapping[str, Any], host: str) -> str | None:
    """Which service a compose service runs (the SERVICE it is built for)."""
    build = (services.get(host) or {}).get("build") or {}
    if not isinstance(build, dict) or build.get("dockerfile") != DOCKERFILE:
        return None
    return (build.get("args") or {}).get("SERVICE")


def _web_backend_problems(services: Mapping[str, Any], key: str, host: str, port: int) -> list[str]:
    """The portal's static server: built from web/Dockerfile (nginx on 8080)."""
    build = (services.get(host) or {}).get("build") or {}
    if host not in services:
        return [f"traefik: {key} points at {host!r}, which is not a compose service"]
    if build.get("dockerfile") != "web/Dockerfile":
        return [f"traefik: {key} points at {host!r}, which is not built from web/Dockerfile"]
    if port != 8080:
        return [f"traefik: {key} must use port 8080 (where the portal's nginx listens)"]
    return []


def _check_gateway(compose: Mapping[str, Any], resolved: Mapping[str, Any], repo: Path) -> list[str]:
    services, problems = services_of(resolved), []
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
            if match.group(1) == "WEB":
                problems += _web_backend_problems(services, key, host, parts.port or 80)
                continue
            if host not in services:
                problems.append(f"traefik: {key} points at {host!r}, which is not a compose service")
            elif _service_of(services, host) != match.group(1).lower():
                problems.append(f"traefik: {key} points at {host!r}, which does not run {match.group(1).lower()}")
            elif (parts.port or 80) != SERVICE_PORT:
                problems.append(f"traefik: {key} must use port {SERVICE_PORT} (where uvicorn listens)")
    gateway = repo / "gateway"
    mounts = [str(v) for v in (services_of(compose)["traefik"].get("volumes") or [])]
    if "./gateway:/etc/traefik:ro" not in mounts:
        problems.append("traefik: ./gateway must be mounted read-only at /etc/traefik")
    static_file = gateway / "traefik.yml"
    if not static_file.is_file():
        return [*problems, "gateway/traefik.yml is missing"]
    static = yaml.safe_load(static_file.read_text()) or {}
    directory = ((static.get("providers") or {}).get("file") or {}).get("directory", "")
    if not str(directory).startswith("/etc/traefik/") or not (gateway / str(directory)[len("/etc/traefik/"):]).is_dir():
        problems.append(f"gateway/traefik.yml: file provider directory {directory!r} is not a folder of gateway/")
    for key in sorted(dynamic_env_knobs(gateway) - set(env)):
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


def _check_dockerfiles(compose: Mapping[str, Any], repo: Path) -> list[str]:
    problems = []
    for name in SERVICES:
        build = (services_of(compose).get(name) or {}).get("build")
        if not isinstance(build, dict):
            continue
        context = (repo / str(build.get("context", "."))).resolve()
        args = {key: str(value) for key, value in (build.get("args") or {}).items()}
        problems += dockerfile_problems(context / str(build.get("dockerfile", "Dockerfile")), context, name, args)
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
