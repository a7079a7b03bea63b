"""docker-compose.yml, checked without a Docker engine: the Compose schema, then the code it deploys."""

import asyncio
import copy
import os
import subprocess
from pathlib import Path

import httpx
import nats
import pytest
import yaml
from compose_check import (
    COMPOSE_FILE,
    COMPOSE_SCHEMA,
    SERVICES,
    MissingVariable,
    check_compose,
    dockerfile_problems,
    interpolate,
    load_compose,
    schema_problems,
    settings_class,
)
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from jeshstack.procs import BIN, Postgres, free_port, port_open, stop_process, wait_for
from tests.deploy.postgres_init import INIT_SCRIPT, run_init_script

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return load_compose()


def problems_after(compose, change):
    """check_compose on a changed copy of the compose file."""
    changed = copy.deepcopy(compose)
    change(changed["services"])
    return check_compose(changed)


def test_the_compose_schema_is_the_shared_one():
    assert COMPOSE_SCHEMA.resolve() == (REPO / ".." / "shared" / "compose-spec.json").resolve()
    assert COMPOSE_FILE == REPO / "docker-compose.yml"


def test_compose_file_matches_the_compose_specification(compose):
    assert schema_problems(compose) == []


def test_compose_file_matches_the_code(compose):
    assert check_compose(compose) == []


def test_the_schema_check_can_fail(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["auth"]["restrat"] = "always"
    broken["services"]["booking"]["depends_on"] = {"nats": {"condition": "service_ready"}}
    problems = schema_problems(broken)
    assert any("services/auth" in p and "restrat" in p for p in problems)
    assert any("services/booking/depends_on" in p for p in problems)


def test_every_service_and_its_migration_job_is_there(compose):
    for name in SERVICES:
        service = compose["services"][name]
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile", "args": {"SERVICE": name}}
        assert compose["services"][f"{name}-migrate"]["command"][-2:] == ["upgrade", "head"]


def test_a_missing_service_is_reported(compose):
    problems = problems_after(compose, lambda services: services.pop("booking"))
    assert "booking: missing from services" in problems
    assert "traefik: JESH_BOOKING_URLS points at 'booking', which is not a compose service" in problems
    assert "traefik: depends_on booking, which is not a service" in problems


def test_a_missing_migration_job_is_reported(compose):
    def drop(services):
        services.pop("payments-migrate")
        services["payments"]["depends_on"].pop("payments-migrate")

    assert "payments: no payments-migrate job runs its migrations before it starts" in problems_after(compose, drop)


def test_a_secret_the_settings_need_in_production_is_reported_missing(compose):
    problems = problems_after(compose, lambda services: services["auth"]["environment"].pop("AUTH_SIGNING_KEY"))
    assert any(p.startswith("auth: would refuse to start in production") and "AUTH_SIGNING_KEY" in p for p in problems)


def test_a_payments_secret_left_at_its_development_default_is_reported(compose):
    problems = problems_after(compose, lambda services: services["payments"]["environment"].pop("MPESA_PASSKEY"))
    assert any(p.startswith("payments: would refuse to start") and "MPESA_PASSKEY" in p for p in problems)


def test_a_required_settings_field_without_an_environment_variable_is_reported(compose, monkeypatch):
    import compose_check

    base = settings_class("inventory")

    class StricterSettings(base):
        warehouse_code: str

    monkeypatch.setattr(
        compose_check, "settings_class", lambda name: StricterSettings if name == "inventory" else settings_class(name)
    )
    problems = check_compose(compose)
    assert "inventory: its Settings require WAREHOUSE_CODE, which compose does not provide" in problems


def test_a_peer_url_left_at_its_loopback_default_is_reported(compose):
    problems = problems_after(compose, lambda services: services["transport"]["environment"].pop("BOOKING_URL"))
    assert any(p.startswith("transport: BOOKING_URL defaults to 'http://127.0.0.1") for p in problems)


def test_a_peer_url_naming_no_service_is_reported(compose):
    def change(services):
        services["booking"]["environment"]["INVENTORY_URL"] = "http://inventroy:8000"

    assert "booking: INVENTORY_URL points at 'inventroy', which is not a compose service" in problems_after(
        compose, change
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://bookings:8000", "traefik: JESH_BOOKING_URLS points at 'bookings', which is not a compose service"),
        ("http://inventory:8000", "traefik: JESH_BOOKING_URLS points at 'inventory', which does not run booking"),
        ("http://booking:8001", "traefik: JESH_BOOKING_URLS must use port 8000 (where uvicorn listens)"),
    ],
)
def test_a_gateway_backend_that_is_not_the_service_is_reported(compose, url, expected):
    def change(services):
        services["traefik"]["environment"]["JESH_BOOKING_URLS"] = url

    assert expected in problems_after(compose, change)


def test_each_database_url_must_name_the_services_own_database_and_role(compose):
    def change(services):
        env = services["inventory"]["environment"]
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("inventory:", "booking:").replace("/inventory", "/booking")

    problems = problems_after(compose, change)
    expected = "inventory: DATABASE_URL must use database 'inventory' and role 'inventory' (got 'booking' as 'booking')"
    assert expected in problems
    assert "booking: shares the database role 'booking' with inventory" in problems


def test_a_hard_coded_secret_is_reported(compose):
    def change(services):
        services["postgres"]["environment"]["POSTGRES_PASSWORD"] = "hunter2hunter2"
        services["booking"]["environment"]["DATABASE_URL"] = "postgresql+psycopg2://booking:pw@postgres:5432/booking"

    problems = problems_after(compose, change)
    assert "postgres: POSTGRES_PASSWORD is a secret and must be given as ${POSTGRES_PASSWORD:?message}" in problems
    assert "booking: the password inside DATABASE_URL must be a ${VAR:?message} reference" in problems


def test_waiting_on_a_service_without_healthcheck_is_reported(compose):
    problems = problems_after(compose, lambda services: services["nats"].pop("healthcheck"))
    assert "auth: waits for nats to be healthy but nats has no healthcheck" in problems
    assert "nats: needs a healthcheck" in problems


def test_the_daraja_simulator_may_only_run_in_the_dev_profile(compose):
    simulator = {"image": "jesh/daraja-sim:latest", "restart": "unless-stopped",
                 "healthcheck": {"test": ["CMD", "true"]}}
    problems = problems_after(compose, lambda services: services.update({"daraja-sim": simulator}))
    assert "daraja-sim: the Daraja simulator must not run in production (profiles: [dev] at most)" in problems
    in_dev = {**simulator, "profiles": ["dev"]}
    assert problems_after(compose, lambda services: services.update({"daraja-sim": in_dev})) == []


def test_interpolation_follows_compose():
    values = {"SET": "v", "EMPTY": ""}
    assert interpolate("${SET:?x}-${UNSET:-d}-${EMPTY:-e}-${EMPTY-f}-$$SET-${SET:+alt}", values) == "v-d-e--$SET-alt"
    with pytest.raises(MissingVariable, match="UNSET: tell me"):
        interpolate({"a": ["${UNSET:?tell me}"]}, values)
    with pytest.raises(MissingVariable):
        interpolate("${EMPTY:?}", values)


def test_the_one_dockerfile_builds_every_service(tmp_path):
    assert sorted(REPO.glob("services/*/Dockerfile")) == [], "one Dockerfile for every service (ARG SERVICE)"
    for name in SERVICES:
        assert dockerfile_problems(REPO / "Dockerfile", REPO, name) == []
    # built for a service that does not exist, every per-service path is missing
    ghost = dockerfile_problems(REPO / "Dockerfile", REPO, "ghost")
    assert "Dockerfile: COPY source services/ghost/src does not exist in the build context" in ghost
    assert "Dockerfile: CMD must run uvicorn ghost.app:create_app --factory" not in ghost  # the CMD follows SERVICE
    broken = tmp_path / "Dockerfile"
    dockerfile = (REPO / "Dockerfile").read_text()
    dockerfile = dockerfile.replace("USER 10001:10001", "USER root")
    dockerfile = dockerfile.replace("COPY services/${SERVICE}/migrations", "COPY services/${SERVICE}/migratoins")
    dockerfile = dockerfile.replace('"${JESH_SERVICE}.app:create_app"', "auth.app:create_app")
    broken.write_text(dockerfile + "RUN apt-get install -y gcc\n")
    problems = dockerfile_problems(broken, REPO, "booking")
    label = str(broken)
    assert f"{label}: COPY source services/booking/migratoins does not exist in the build context" in problems
    assert f"{label}: the final stage must run as a non-root USER" in problems
    assert f"{label}: no build tools in the final stage (apt-get install -y gcc)" in problems
    assert f"{label}: CMD must run uvicorn booking.app:create_app --factory" in problems


def test_a_missing_dockerfile_or_build_arg_is_reported(compose):
    def change(services):
        services["transport"]["build"] = {"context": ".", "dockerfile": "services/transport/Dockerfile.prod"}
        services["booking"]["build"] = {"context": ".", "dockerfile": "Dockerfile", "args": {"SERVICE": "inventory"}}

    problems = problems_after(compose, change)
    assert "transport: must be built from the one Dockerfile (build.dockerfile)" in problems
    assert "services/transport/Dockerfile.prod: missing" in problems
    assert "booking: must be built with build.args.SERVICE: booking" in problems
    assert "traefik: JESH_BOOKING_URLS points at 'booking', which does not run booking" in problems


def test_the_migration_commands_find_the_files_the_images_copy(compose):
    for name in SERVICES:
        command = compose["services"][f"{name}-migrate"]["command"]
        assert command == ["alembic", "-c", f"/app/services/{name}/alembic.ini", "upgrade", "head"]
        assert (REPO / "services" / name / "alembic.ini").is_file()
        assert (REPO / "services" / name / "migrations" / "env.py").is_file()


# --- the PostgreSQL init script, run for real -----------------------------------------------------------
@pytest.fixture(scope="module")
def fresh_postgres(tmp_path_factory):
    """A PostgreSQL of our own: the init script creates roles, which are cluster-wide."""
    server = Postgres(tmp_path_factory.mktemp("pg-init") / "data", free_port())
    server.init()
    server.start()
    yield server
    server.stop()


def test_the_init_script_gives_each_service_its_own_database_and_role_only(fresh_postgres, compose):
    assert os.access(INIT_SCRIPT, os.X_OK), "the postgres image runs executable init scripts (sources others)"
    refused = run_init_script(fresh_postgres, JESH_SERVICES="ghost")
    assert refused.returncode != 0 and "GHOST_DB_PASSWORD is required" in refused.stderr

    services = compose["services"]["postgres"]["environment"]["JESH_SERVICES"].split()
    assert sorted(services) == sorted(SERVICES)
    passwords = {f"{name.upper()}_DB_PASSWORD": f"pw-{name}-'quoted\"$x" for name in services}
    no_backup = run_init_script(fresh_postgres, JESH_SERVICES=" ".join(services), **passwords)
    assert no_backup.returncode != 0 and "BACKUP_DB_PASSWORD" in no_backup.stderr  # checked before anything is made
    done = run_init_script(fresh_postgres, JESH_SERVICES=" ".join(services), BACKUP_DB_PASSWORD="pw-b", **passwords)
    assert done.returncode == 0, done.stderr

    admin = create_engine(fresh_postgres.url())
    with admin.connect() as conn:
        owners = dict(conn.execute(text(
            "SELECT d.datname, r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba"
        )).all())
        for name in services:
            assert owners[name] == name
            role = conn.execute(text(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolpassword LIKE 'SCRAM-SHA-256$%' "
                "FROM pg_authid WHERE rolname = :n"), {"n": name}).one()
            assert tuple(role) == (False, False, False, True)
            for database in [*services, "postgres", "template1"]:
                allowed = conn.execute(
                    text("SELECT has_database_privilege(:r, :d, 'CONNECT')"), {"r": name, "d": database}
                ).scalar()
                assert allowed == (database == name), f"{name} on {database}"
    admin.dispose()

    own = create_engine(f"postgresql+psycopg2://auth@127.0.0.1:{fresh_postgres.port}/auth")
    with own.begin() as conn:
        conn.execute(text("CREATE TABLE owned_by_auth (id int)"))
    own.dispose()
    foreign = create_engine(f"postgresql+psycopg2://auth@127.0.0.1:{fresh_postgres.port}/booking")
    with pytest.raises(OperationalError, match="permission denied for database"):
        foreign.connect()
    foreign.dispose()


def test_the_compose_file_is_plain_yaml_with_anchors_resolved():
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    auth, job = raw["services"]["auth"], raw["services"]["auth-migrate"]
    assert auth["environment"] is job["environment"]
    assert auth["environment"]["ENVIRONMENT"] == "production"


# --- the NATS configuration, run for real -------------------------------------------------------------
def test_the_nats_config_enables_jetstream_and_refuses_clients_without_the_password(tmp_path, compose):
    command = compose["services"]["nats"]["command"]
    assert command[:3] == ["nats-server", "--config", "/etc/nats/jesh.conf"] and "-js" in command
    client_port, monitor_port = free_port(), free_port()
    server = subprocess.Popen(
        [str(BIN / "nats-server"), "--config", str(REPO / "deploy" / "nats" / "jesh.conf"), "-js",
         "-sd", str(tmp_path), "-a", "127.0.0.1", "-p", str(client_port), "-m", str(monitor_port)],
        env={**os.environ, "NATS_PASSWORD": "s3cret-hex"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: port_open(client_port) and port_open(monitor_port), timeout=15, what="nats-server",
                 tolerate=(Exception,))
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{monitor_port}/healthz").status_code == 200,
                 timeout=15, what="nats healthz", tolerate=(Exception,))

        async def jetstream_answers(url: str) -> bool:
            connection = await nats.connect(
                url, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False, error_cb=ignore
            )
            try:
                return await connection.jetstream().account_info() is not None
            finally:
                await connection.close()

        async def ignore(_: Exception) -> None:
            return None

        assert asyncio.run(jetstream_answers(f"nats://jesh:s3cret-hex@127.0.0.1:{client_port}"))
        for url in (f"nats://127.0.0.1:{client_port}", f"nats://jesh:wrong@127.0.0.1:{client_port}"):
            with pytest.raises(nats.errors.Error, match="Authorization Violation"):
                asyncio.run(jetstream_answers(url))
    finally:
        stop_process(server)
