"""The compose deployment's backups (deploy/postgres/backup.sh, restore.sh), run for real against a PostgreSQL of our
own with the init script's databases and roles: a backup restores what was there, a restore that fails changes
nothing, old backups are pruned by age and day, and the healthcheck turns unhealthy without a recent backup."""

import time

import pytest
from compose_check import SERVICES, check_compose, environment_of, load_compose
from sqlalchemy import create_engine, text

from tests.deploy.backup_scripts import admin, as_role, execute, fake_backup, rows, run


def test_a_backup_restores_what_was_there_and_keeps_the_replaced_database(server, tmp_path):
    execute(server, "payments", "CREATE TABLE money (id int PRIMARY KEY, amount int NOT NULL)",
            "INSERT INTO money VALUES (1, 7500), (2, 3000)")
    execute(server, "booking", "CREATE TABLE kept (id int)", "INSERT INTO kept VALUES (42)")
    backups = tmp_path / "backups"
    once = run("backup.sh", server, "once", JESH_DATABASES=" ".join(SERVICES), BACKUP_DIR=str(backups))
    assert once.returncode == 0, once.stderr
    [folder] = list(backups.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == sorted([*(f"{s}.dump" for s in SERVICES), "COMPLETE"])
    assert run("backup.sh", server, "check", JESH_DATABASES="x", BACKUP_DIR=str(backups)).returncode == 0

    # After the backup: money lost by mistake, a table added.
    execute(server, "payments", "DELETE FROM money WHERE id = 1", "CREATE TABLE later (id int)")
    busy = as_role(server, "payments")
    with busy.connect():  # its service still running: refused, nothing changed
        refused = run("restore.sh", server, folder.name, "payments", BACKUP_DIR=str(backups))
    busy.dispose()
    assert refused.returncode == 1 and "stop its service first" in refused.stderr
    assert rows(server, "payments", "SELECT id FROM money") == [(2,)]

    restored = run("restore.sh", server, folder.name, "payments", BACKUP_DIR=str(backups))
    assert restored.returncode == 0, restored.stderr
    assert rows(server, "payments", "SELECT id, amount FROM money ORDER BY id") == [(1, 7500), (2, 3000)]
    assert rows(server, "payments", "SELECT to_regclass('later') IS NULL") == [(True,)]
    assert rows(server, "payments", "SELECT tableowner FROM pg_tables WHERE tablename = 'money'") == [("payments",)]
    assert rows(server, "booking", "SELECT id FROM kept") == [(42,)]  # not named: untouched
    before = f"payments_before_{folder.name.lower().replace('-', '_')}"
    assert rows(server, before, "SELECT id FROM money", role="payments") == [(2,)]  # the replaced one, kept
    # The live database's CONNECT rules: its own role and the backup role (and the superuser), nobody else.
    allowed = admin(server, "SELECT r.rolname FROM pg_roles r WHERE has_database_privilege(r.oid, 'payments', "
                            "'CONNECT') AND NOT r.rolsuper AND r.rolname NOT LIKE 'pg\\_%' ORDER BY 1")
    assert allowed == [("backup",), ("payments",)]
    later = run("backup.sh", server, "once", JESH_DATABASES="payments", BACKUP_DIR=str(tmp_path / "later"))
    assert later.returncode == 0, later.stderr  # the restored database is still backed up
    again = run("restore.sh", server, folder.name, "payments", BACKUP_DIR=str(backups))
    assert again.returncode == 1 and "exists already" in again.stderr


def test_the_backup_role_reads_every_database_and_writes_none(server):
    for database in SERVICES:
        engine = create_engine(f"postgresql+psycopg2://backup:pw-backup@127.0.0.1:{server.port}/{database}")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT has_database_privilege('backup', current_database(), 'CREATE')")
                                ).scalar() is False
        engine.dispose()
    execute(server, "booking", "CREATE TABLE IF NOT EXISTS guarded (id int)")
    engine = create_engine(f"postgresql+psycopg2://backup:pw-backup@127.0.0.1:{server.port}/booking")
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM guarded"))
        with pytest.raises(Exception, match="permission denied"):
            conn.execute(text("INSERT INTO guarded VALUES (1)"))
    engine.dispose()
    role = admin(server, "SELECT rolsuper, rolcreatedb, rolcreaterole, pg_has_role('backup', 'pg_read_all_data', "
                         "'MEMBER'), pg_has_role('backup', 'pg_write_all_data', 'MEMBER') FROM pg_roles "
                         "WHERE rolname = 'backup'")
    assert role == [(False, False, False, True, False)]
    assert admin(server, "SELECT has_database_privilege('backup', 'postgres', 'CONNECT')") == [(False,)]


def test_a_restore_names_the_customers_erased_since_the_backup(server, tmp_path):
    execute(server, "auth", "CREATE TABLE users (id int PRIMARY KEY, erased_at timestamptz)",
            "INSERT INTO users VALUES (1, now() - interval '3 days'), (2, NULL), (3, NULL), (4, NULL)")
    backups = tmp_path / "backups"
    assert run("backup.sh", server, "once", JESH_DATABASES="auth notifications",
               BACKUP_DIR=str(backups)).returncode == 0
    [folder] = list(backups.iterdir())
    execute(server, "auth", "UPDATE users SET erased_at = now() WHERE id IN (3, 4)")  # erased after the backup

    # notifications restored: it may hold 3 and 4 again; auth (live) knows they were erased
    notifications = run("restore.sh", server, folder.name, "notifications", BACKUP_DIR=str(backups))
    assert notifications.returncode == 0, notifications.stderr
    assert "accounts erased since this backup: 3 4. Once the services run, erase each again" in notifications.stdout
    # auth restored too: the erasures are read from the auth it replaced
    auth = run("restore.sh", server, folder.name, "auth", BACKUP_DIR=str(backups))
    assert auth.returncode == 0, auth.stderr
    assert "accounts erased since this backup: 3 4." in auth.stdout
    assert rows(server, "auth", "SELECT count(*) FROM users WHERE erased_at IS NOT NULL") == [(1,)]


def test_a_restore_that_fails_changes_nothing(server, tmp_path):
    backups = tmp_path / "backups"
    assert run("backup.sh", server, "once", JESH_DATABASES="inventory transport",
               BACKUP_DIR=str(backups)).returncode == 0
    execute(server, "transport", "CREATE TABLE trucks (id int)", "INSERT INTO trucks VALUES (7)")
    [folder] = list(backups.iterdir())
    dump = folder / "transport.dump"
    dump.write_bytes(dump.read_bytes()[: len(dump.read_bytes()) // 2])  # a damaged archive
    failed = run("restore.sh", server, str(folder), BACKUP_DIR="/nonexistent")
    assert failed.returncode == 1 and "no database was changed" in failed.stderr
    assert rows(server, "transport", "SELECT id FROM trucks") == [(7,)]
    names = [n for (n,) in admin(server, "SELECT datname FROM pg_database")]
    # inventory's archive was sound, but a restore of several databases is all or nothing
    assert not [n for n in names if n.endswith("_restoring") or n.startswith(("inventory_before", "transport_bef"))]

    sound = run("backup.sh", server, "once", JESH_DATABASES="inventory transport", BACKUP_DIR=str(backups))
    assert sound.returncode == 0, sound.stderr
    execute(server, "transport", "DELETE FROM trucks")
    latest = run("backup.sh", server, "list", JESH_DATABASES="x", BACKUP_DIR=str(backups)).stdout.split()[0]
    everything = run("restore.sh", server, latest, BACKUP_DIR=str(backups))  # no names: all of that backup
    assert everything.returncode == 0, everything.stderr
    assert rows(server, "transport", "SELECT id FROM trucks") == [(7,)]
    names = [n for (n,) in admin(server, "SELECT datname FROM pg_database")]
    assert len([n for n in names if n.startswith(("inventory_before_", "transport_before_"))]) == 2
    assert run("restore.sh", server, latest, "x;y", BACKUP_DIR=str(backups)).returncode == 1

    (folder / "COMPLETE").unlink()
    incomplete = run("restore.sh", server, str(folder), "inventory")
    assert incomplete.returncode == 1 and "not a complete backup" in incomplete.stderr
    unknown = run("restore.sh", server, str(backups / "nope"))
    assert unknown.returncode == 1


def test_a_failed_backup_leaves_no_complete_folder_and_the_check_fails(server, tmp_path):
    backups = tmp_path / "backups"
    failed = run("backup.sh", server, "once", JESH_DATABASES="auth ghost", BACKUP_DIR=str(backups))
    assert failed.returncode == 1 and "pg_dump of ghost failed" in failed.stdout
    assert list(backups.iterdir()) == []
    check = run("backup.sh", server, "check", JESH_DATABASES="auth", BACKUP_DIR=str(backups))
    assert check.returncode == 1 and "no complete backup" in check.stderr
    (tmp_path / "a-file").write_text("")
    unwritable = run("backup.sh", server, "once", JESH_DATABASES="auth", BACKUP_DIR=str(tmp_path / "a-file" / "b"))
    assert unwritable.returncode == 1 and "cannot create" in unwritable.stdout
    bad_knob = run("backup.sh", server, "once", JESH_DATABASES="auth", BACKUP_DIR=str(backups),
                   BACKUP_KEEP_DAYS="0")
    assert bad_knob.returncode == 2 and "BACKUP_KEEP_DAYS" in bad_knob.stderr


def test_old_backups_are_pruned_by_age_keeping_the_newest_of_each_day(server, tmp_path):
    backups = tmp_path / "backups"
    hour, day = 3600, 86400
    fake_backup(backups, "2026-11-30T10-00-00Z", 30 * hour)  # recent: kept
    fake_backup(backups, "2026-11-28T23-00-00Z", 3 * day)  # the newest of its day: kept
    fake_backup(backups, "2026-11-28T01-00-00Z", 3 * day + 22 * hour)  # the same day, older: pruned
    fake_backup(backups, "2026-11-10T10-00-00Z", 20 * day)  # past BACKUP_KEEP_DAYS: pruned
    fake_backup(backups, "2026-11-29T05-00-00Z", None)  # never completed: pruned
    (backups / "lost+found").mkdir()  # not a backup: left alone
    stale = run("backup.sh", server, "check", JESH_DATABASES="auth", BACKUP_DIR=str(backups),
                BACKUP_INTERVAL_SECONDS="3600")
    assert stale.returncode == 1 and "older than" in stale.stderr  # 30 hours: unhealthy

    once = run("backup.sh", server, "once", JESH_DATABASES="auth", BACKUP_DIR=str(backups),
               BACKUP_KEEP_RECENT_HOURS="48", BACKUP_KEEP_DAYS="14")
    assert once.returncode == 0, once.stderr
    kept = run("backup.sh", server, "list", JESH_DATABASES="auth", BACKUP_DIR=str(backups)).stdout.split()
    assert kept[1:] == ["2026-11-30T10-00-00Z", "2026-11-28T23-00-00Z"]  # after the one just made
    assert sorted(p.name for p in backups.iterdir()) == sorted([*kept, "lost+found"])
    assert run("backup.sh", server, "check", JESH_DATABASES="auth", BACKUP_DIR=str(backups)).returncode == 0

    # Even past every limit, the newest backup is never pruned.
    for folder in backups.iterdir():
        (folder / "COMPLETE").write_text(str(int(time.time()) - 40 * day))
    run("backup.sh", server, "once", JESH_DATABASES="ghost", BACKUP_DIR=str(backups))  # fails: nothing new
    assert len(list(backups.iterdir())) == 2  # the newest backup, and lost+found


def test_compose_backs_up_every_service_s_database():
    compose = load_compose()
    backup = compose["services"]["postgres-backup"]
    assert backup["image"] == compose["services"]["postgres"]["image"]  # pg_dump of the server's version
    assert environment_of(backup)["PGUSER"] == "backup"  # not the superuser
    postgres_mounts = [str(v).split(":")[:2] for v in compose["services"]["postgres"]["volumes"]]
    assert ["./deploy/postgres/restore.sh", "/usr/local/bin/jesh-restore.sh"] in postgres_mounts
    assert ["postgres-backups", "/backups"] in postgres_mounts
    assert sorted(environment_of(backup)["JESH_DATABASES"].split()) == sorted(SERVICES)
    assert check_compose(compose) == []
    compose["services"]["postgres-backup"]["environment"]["JESH_DATABASES"] = "auth booking"
    assert any("postgres-backup" in p and "payments" in p for p in check_compose(compose))
    del compose["services"]["postgres-backup"]
    assert any("postgres-backup" in p for p in check_compose(compose))
