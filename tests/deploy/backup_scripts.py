"""The compose deployment's backup scripts (deploy/postgres/*.sh), run as compose runs them against a PostgreSQL of
ours with the init script's databases and roles: shared by the backup and off-site tests (the `server` fixture is
in conftest.py)."""

import os
import subprocess
import time
from datetime import datetime
from pathlib import Path

from compose_check import SERVICES
from sqlalchemy import create_engine, text

from jeshstack.procs import Postgres, free_port
from tests.deploy.postgres_init import run_init_script

SCRIPTS = Path(__file__).resolve().parents[2] / "deploy" / "postgres"
PASSWORD = "correct horse battery staple"  # the off-site repository's


def start_server(data: Path, **settings: str) -> Postgres:
    """A PostgreSQL with every service's database and role, as the init script makes them on a new volume (and the
    server settings given, as compose's `command` gives them)."""
    server = Postgres(data, free_port(), settings=settings)
    server.init()
    server.start()
    passwords = {f"{name.upper()}_DB_PASSWORD": f"pw-{name}" for name in SERVICES}
    done = run_init_script(server, JESH_SERVICES=" ".join(SERVICES), BACKUP_DB_PASSWORD="pw-backup", PGDATA=str(data),
                           **passwords)
    assert done.returncode == 0, done.stderr
    return server


def environment(server, **extra):
    return {"PATH": f"{server.bin}{os.pathsep}{os.environ['PATH']}", "PGHOST": "127.0.0.1",
            "PGPORT": str(server.port), **extra}


def run(script, server, *args, **env):
    """backup.sh as compose runs it, with the init script's backup role; restore.sh as the superuser."""
    user = "backup" if script == "backup.sh" else "postgres"
    return subprocess.run(["bash", str(SCRIPTS / script), *args], env=environment(server, PGUSER=user, **env),
                          capture_output=True, text=True, timeout=120)


def as_role(server, database, role=None):
    return create_engine(f"postgresql+psycopg2://{role or database}@127.0.0.1:{server.port}/{database}")


def rows(server, database, sql, role=None):
    engine = as_role(server, database, role)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        engine.dispose()


def execute(server, database, *statements):
    engine = as_role(server, database)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def admin(server, sql):
    engine = create_engine(server.url())
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        engine.dispose()


def fake_backup(backups: Path, name: str, seconds_ago: int | None) -> None:
    folder = backups / name
    folder.mkdir(parents=True)
    (folder / "auth.dump").write_text("x")
    if seconds_ago is not None:
        (folder / "COMPLETE").write_text(str(int(time.time()) - seconds_ago))


def offsite_env(tmp_path: Path, backups: Path, **env: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "RESTIC_REPOSITORY": str(tmp_path / "repository"),
            "RESTIC_PASSWORD": PASSWORD, "RESTIC_CACHE_DIR": str(tmp_path / "cache"), "BACKUP_DIR": str(backups),
            **env}


def offsite(tmp_path: Path, backups: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """offsite.sh as the backup-offsite service runs it (POSIX sh, not bash), into a repository in tmp_path."""
    return subprocess.run(["sh", str(SCRIPTS / "offsite.sh"), *args], env=offsite_env(tmp_path, backups, **env),
                          capture_output=True, text=True, timeout=120)


def backup_at(backups: Path, when: datetime) -> str:
    """A complete backup folder as backup.sh names it, completed at `when`."""
    name = when.strftime("%Y-%m-%dT%H-%M-%SZ")
    folder = backups / name
    folder.mkdir(parents=True)
    (folder / "auth.dump").write_bytes(os.urandom(64))
    (folder / "COMPLETE").write_text(str(int(when.timestamp())))
    return name
