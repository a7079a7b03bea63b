"""compose's backups: hourly dumps (postgres-backup), point-in-time recovery (the WAL archive and postgres-pitr) and
the encrypted copies off the host (backup-offsite). deploy/postgres/ has the scripts they run."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from compose_env import REQUIRED_REFERENCE
from compose_parts import environment_of, mounts_of, services_of, unmounted
from deployment import SERVICES


def backup_problems(compose: Mapping[str, Any]) -> list[str]:
    """Every way compose's backups disagree with the rules; [] when they agree."""
    return _check_dumps(compose) + _check_pitr(compose)


def _check_dumps(compose: Mapping[str, Any]) -> list[str]:
    """postgres-backup dumps every service's database with the server's own pg_dump (deploy/postgres/backup.sh)."""
    services = services_of(compose)
    backup = services.get("postgres-backup")
    if backup is None:
        return ["postgres-backup: missing from services (backups of every database, deploy/postgres/backup.sh)"]
    problems = []
    missing = set(SERVICES) - set((environment_of(backup).get("JESH_DATABASES") or "").split())
    if missing:
        problems.append(f"postgres-backup: JESH_DATABASES does not back up {' '.join(sorted(missing))}")
    if backup.get("image") != (services.get("postgres") or {}).get("image"):
        problems.append("postgres-backup: must use the postgres service's image (pg_dump of the server's version)")
    problems += unmounted("postgres-backup", backup, ("./deploy/postgres/backup.sh", "/usr/local/bin/jesh-backup.sh"))
    return problems + _check_offsite(services, environment_of(backup).get("BACKUP_DIR", "/backups"))


def _check_pitr(compose: Mapping[str, Any]) -> list[str]:
    """The server archives every WAL segment into the postgres-pitr volume, where postgres-pitr keeps base backups
    (deploy/postgres/pitr.sh): together, a restore to any moment."""
    services = services_of(compose)
    postgres, pitr = services.get("postgres") or {}, services.get("postgres-pitr")
    problems = []
    command = " ".join(str(part) for part in postgres.get("command") or [])
    if not all(setting in command for setting in ("archive_mode=on", "archive_command=bash "
                                                  "/usr/local/bin/jesh-pitr.sh archive-wal /pitr/wal %p %f")):
        problems.append("postgres: must archive every WAL segment into /pitr/wal (archive_mode=on, archive_command="
                        "bash /usr/local/bin/jesh-pitr.sh archive-wal /pitr/wal %p %f)")
    problems += unmounted("postgres", postgres, ("postgres-pitr", "/pitr"),
                           ("./deploy/postgres/server.sh", "/usr/local/bin/jesh-postgres.sh"),
                           ("./deploy/postgres/pitr.sh", "/usr/local/bin/jesh-pitr.sh"))
    if pitr is None:
        return [*problems, "postgres-pitr: missing from services (base backups for point-in-time recovery, "
                           "deploy/postgres/pitr.sh)"]
    if pitr.get("image") != postgres.get("image"):
        problems.append("postgres-pitr: must use the postgres service's image (pg_basebackup of the server's version)")
    if pitr.get("user") != "postgres":
        problems.append("postgres-pitr: must run as postgres, the WAL archive's owner")
    if environment_of(pitr).get("PITR_DIR") != "/pitr":
        problems.append("postgres-pitr: PITR_DIR must be /pitr, where the postgres-pitr volume is mounted")
    return problems + unmounted("postgres-pitr", pitr, ("postgres-pitr", "/pitr"),
                                 ("./deploy/postgres/pitr.sh", "/usr/local/bin/jesh-pitr.sh"))


def _check_offsite(services: Mapping[str, Any], backup_dir: str) -> list[str]:
    """backup-offsite sends postgres-backup's folder off the host, encrypted (deploy/postgres/offsite.sh)."""
    offsite = services.get("backup-offsite")
    if offsite is None:
        return ["backup-offsite: missing from services (encrypted copies off the host, deploy/postgres/offsite.sh)"]
    problems = []
    if not re.fullmatch(r"restic/restic:\d+\.\d+\.\d+", str(offsite.get("image"))):
        problems.append("backup-offsite: must use restic's official image at a pinned version (restic/restic:X.Y.Z)")
    env = environment_of(offsite)
    for key in ("RESTIC_REPOSITORY", "RESTIC_PASSWORD"):
        if not REQUIRED_REFERENCE.match(env.get(key, "")):
            problems.append(f"backup-offsite: {key} must be given as ${{{key}:?message}}")
    if env.get("BACKUP_DIR") != backup_dir:
        problems.append(f"backup-offsite: BACKUP_DIR must be postgres-backup's ({backup_dir})")
    mounts = mounts_of(offsite)
    if ["./deploy/postgres/offsite.sh", "/usr/local/bin/jesh-offsite.sh"] not in mounts:
        problems.append("backup-offsite: deploy/postgres/offsite.sh must be mounted at /usr/local/bin/jesh-offsite.sh")
    if ["postgres-backups", backup_dir] not in mounts:
        problems.append(f"backup-offsite: the postgres-backups volume must be mounted at {backup_dir}")
    if env.get("PITR_DIR") != "/pitr" or ["postgres-pitr", "/pitr"] not in mounts:
        problems.append("backup-offsite: PITR_DIR must be /pitr, where the postgres-pitr volume is mounted (the "
                        "point-in-time archive goes off the host too)")
    return problems
