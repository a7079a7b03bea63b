"""deploy/postgres/initdb's script, run as the postgres image runs it on a new volume, against a PostgreSQL of ours
(jeshstack.procs.Postgres): shared by the compose and backup tests."""

import os
import subprocess
from pathlib import Path

INIT_SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "initdb" / "10-service-databases.sh"


def run_init_script(server, **env) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": f"{server.bin}{os.pathsep}{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(server.port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": "postgres",
        **env,
    }
    return subprocess.run(["bash", str(INIT_SCRIPT)], env=environment, capture_output=True, text=True, timeout=60)
