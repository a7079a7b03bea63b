"""Off-site copies of the compose deployment's backups (deploy/postgres/offsite.sh), run for real with restic (Debian's
package, installed on first use as the browser tests install Chromium) into a repository in a folder: what leaves
the host is encrypted, a backup is sent once, the retention keeps the recent ones and the newest of each day and
month, the healthcheck turns unhealthy without a recent copy, and a backup brought back restores what was there."""

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from compose_check import SERVICES, check_compose, environment_of, load_compose

from jeshstack.testing import wait_for
from tests.deploy.backup_scripts import PASSWORD, SCRIPTS, backup_at, execute, offsite, offsite_env, rows, run


def snapshots(restic: str, tmp_path: Path, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "RESTIC_REPOSITORY": str(tmp_path / "repository"),
           "RESTIC_PASSWORD": password, "RESTIC_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run([restic, "--no-lock", "snapshots", "--json"], env=env, capture_output=True, text=True,
                          timeout=60)


def sent(restic: str, tmp_path: Path) -> list[str]:
    """The backups in the repository by name, oldest first."""
    done = snapshots(restic, tmp_path)
    assert done.returncode == 0, done.stderr
    listed = sorted(json.loads(done.stdout) or [], key=lambda s: s["time"])
    return [tag.removeprefix("backup-") for s in listed for tag in s["tags"] if tag.startswith("backup-")]


def test_a_backup_leaves_the_host_encrypted_and_comes_back_to_restore_the_money(server, restic, tmp_path):
    execute(server, "payments", "CREATE TABLE receipts (id int PRIMARY KEY, phone text NOT NULL, amount int)",
            "INSERT INTO receipts VALUES (1, '254799000111', 7500), (2, '254799000222', 3000)")
    backups = tmp_path / "backups"
    made = run("backup.sh", server, "once", JESH_DATABASES=" ".join(SERVICES), BACKUP_DIR=str(backups))
    assert made.returncode == 0, made.stderr
    [folder] = list(backups.iterdir())
    original = {p.name: p.read_bytes() for p in folder.iterdir()}

    first = offsite(tmp_path, backups, "once")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "making one" in first.stdout and f"backup {folder.name} sent off-site" in first.stdout
    again = offsite(tmp_path, backups, "once")
    assert again.returncode == 0 and "already off-site" in again.stdout  # sent once, however often it runs
    assert sent(restic, tmp_path) == [folder.name]
    assert offsite(tmp_path, backups, "check").returncode == 0

    # What left the host reads as nothing without the password: no file name, no database's bytes.
    stored = b"".join(p.read_bytes() for p in (tmp_path / "repository").rglob("*") if p.is_file())
    assert b"payments.dump" not in stored and b"COMPLETE" not in stored
    for dump in original.values():
        assert dump[:64] not in stored
    wrong = snapshots(restic, tmp_path, password="guess")
    assert wrong.returncode != 0 and not wrong.stdout.strip()

    # The host is lost, with its backups; the database too, by mistake. A new host brings the backup back.
    execute(server, "payments", "DELETE FROM receipts WHERE id = 1")
    shutil.rmtree(backups)
    new_host = tmp_path / "new-host-backups"
    fetched = offsite(tmp_path, new_host, "fetch")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.strip() == folder.name
    assert {p.name: p.read_bytes() for p in (new_host / folder.name).iterdir()} == original
    assert [p.name for p in new_host.iterdir()] == [folder.name]  # no work folder left behind
    restored = run("restore.sh", server, folder.name, "payments", BACKUP_DIR=str(new_host))
    assert restored.returncode == 0, restored.stderr
    assert rows(server, "payments", "SELECT id, phone, amount FROM receipts ORDER BY id") == [
        (1, "254799000111", 7500), (2, "254799000222", 3000)]

    by_name = offsite(tmp_path, tmp_path / "third-host", "fetch", folder.name)
    assert by_name.returncode == 0 and by_name.stdout.strip() == folder.name
    unknown = offsite(tmp_path, tmp_path / "third-host", "fetch", "2001-01-01T00-00-00Z")
    assert unknown.returncode == 1 and "could be brought back" in unknown.stderr
    assert offsite(tmp_path, tmp_path / "third-host", "fetch", "../etc").returncode == 2


def test_the_retention_keeps_recent_backups_and_the_newest_of_each_day_and_month(restic, tmp_path):
    backups = tmp_path / "backups"
    never = offsite(tmp_path, backups, "check")
    assert never.returncode == 1  # no repository yet: unhealthy
    nothing = offsite(tmp_path, backups, "once")
    assert nothing.returncode == 1 and "no complete backup" in nothing.stdout
    (backups / "2026-12-01T00-00-00Z").mkdir(parents=True)  # cut short (no COMPLETE): never sent
    assert offsite(tmp_path, backups, "once").returncode == 1

    now = datetime.now(UTC).replace(microsecond=0)
    ten_days_ago = (now - timedelta(days=10)).replace(hour=0, minute=0, second=0)
    knobs = {"OFFSITE_KEEP_RECENT_HOURS": "48", "OFFSITE_KEEP_DAYS": "2", "OFFSITE_KEEP_MONTHS": "1"}
    made = []
    for when in (now - timedelta(days=70), ten_days_ago + timedelta(hours=2), ten_days_ago + timedelta(hours=20)):
        made.append(backup_at(backups, when))  # each round sends the newest complete folder only
        done = offsite(tmp_path, backups, "once", **knobs)
        assert done.returncode == 0, done.stdout + done.stderr
    old, morning, evening = made
    assert sent(restic, tmp_path) == [old, morning, evening]  # within 48 h of the newest, or a day's newest

    stale = offsite(tmp_path, backups, "check", OFFSITE_INTERVAL_SECONDS="3600", BACKUP_INTERVAL_SECONDS="3600")
    assert stale.returncode == 1 and "more than 11400s" in stale.stderr  # ten days old

    recent = backup_at(backups, now - timedelta(hours=1))
    done = offsite(tmp_path, backups, "once", **knobs)
    assert done.returncode == 0, done.stdout + done.stderr
    # Kept: the last 48 hours (recent), the newest of the last two days with backups (recent, evening), of the
    # last month (recent). Forgotten: that day's morning and the 70-day-old one.
    assert sent(restic, tmp_path) == [evening, recent]
    healthy = offsite(tmp_path, backups, "check", OFFSITE_INTERVAL_SECONDS="3600", BACKUP_INTERVAL_SECONDS="3600")
    assert healthy.returncode == 0, healthy.stderr
    assert "the newest backup off-site was made" in healthy.stdout
    assert recent in offsite(tmp_path, backups, "list").stdout


def test_a_damaged_repository_is_found_by_the_verification_and_reported_unhealthy(restic, tmp_path):
    backups = tmp_path / "backups"
    backup_at(backups, datetime.now(UTC))
    state = {"OFFSITE_STATE_DIR": str(tmp_path), "OFFSITE_VERIFY_PERCENT": "100"}
    assert offsite(tmp_path, backups, "once").returncode == 0
    verified = offsite(tmp_path, backups, "verify", **state)
    assert verified.returncode == 0 and "repository verified (100% of its data read back)" in verified.stdout
    assert offsite(tmp_path, backups, "check", **state).returncode == 0

    # A bit flips in the store: the next verification reads it back, fails, and the healthcheck says so.
    packs = sorted(p for p in (tmp_path / "repository" / "data").rglob("*") if p.is_file())
    for pack in packs:
        damaged = bytearray(pack.read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF
        pack.write_bytes(bytes(damaged))
    failed = offsite(tmp_path, backups, "verify", **state)
    assert failed.returncode == 1 and "repository verification FAILED" in failed.stdout
    sick = offsite(tmp_path, backups, "check", **state)
    assert sick.returncode == 1 and "the last verification of the repository failed" in sick.stderr


def test_the_service_sends_each_round_and_verifies_once_a_day(restic, tmp_path):
    backups = tmp_path / "backups"
    backup_at(backups, datetime.now(UTC))
    service = subprocess.Popen(
        ["sh", str(SCRIPTS / "offsite.sh"), "run"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=offsite_env(tmp_path, backups, OFFSITE_INTERVAL_SECONDS="1", OFFSITE_STATE_DIR=str(tmp_path)))
    try:
        wait_for(lambda: (tmp_path / "offsite-verified").exists(), timeout=60, what="the first verification")
        backup_at(backups, datetime.now(UTC) + timedelta(seconds=2))  # a newer backup, sent on a later round
        wait_for(lambda: len(sent(restic, tmp_path)) == 2, timeout=60, what="the newer backup sent")
    finally:
        service.terminate()
        out = service.communicate(timeout=30)[0]
    assert service.returncode == 0 and "stopped" in out
    assert out.count("sent off-site") == 2 and out.count("repository verified") == 1, out


def test_the_archive_goes_off_site_between_the_rounds_of_the_dumps(restic, tmp_path):
    """A lost host loses at most OFFSITE_PITR_INTERVAL_SECONDS more than its server had archived, not a dumps'
    interval: the archive is sent on its own shorter rounds, the dumps once an interval."""
    backups, pitr_dir = tmp_path / "backups", tmp_path / "pitr"
    backup_at(backups, datetime.now(UTC))
    (pitr_dir / "base" / "2026-12-04T00-00-00Z").mkdir(parents=True)
    (pitr_dir / "base" / "2026-12-04T00-00-00Z" / "COMPLETE").write_text("end=1\n")
    (pitr_dir / "wal").mkdir()
    service = subprocess.Popen(
        ["sh", str(SCRIPTS / "offsite.sh"), "run"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=offsite_env(tmp_path, backups, OFFSITE_INTERVAL_SECONDS="3600", OFFSITE_PITR_INTERVAL_SECONDS="1",
                        PITR_DIR=str(pitr_dir), OFFSITE_STATE_DIR=str(tmp_path)))
    try:
        wait_for(lambda: (tmp_path / "repository" / "config").exists() and len(archive_copies(restic, tmp_path)) >= 1,
                 timeout=60, what="the archive's first copy")
        segment = pitr_dir / "wal" / "000000010000000000000002.gz"
        segment.write_bytes(os.urandom(1000))  # archived by the server after the first round
        wait_for(lambda: f"/wal/{segment.name}" in newest_archive_copy(restic, tmp_path), timeout=60,
                 what="the new segment off-site")
    finally:
        service.terminate()
        out = service.communicate(timeout=30)[0]
    assert service.returncode == 0, out
    assert out.count("point-in-time archive sent off-site") >= 2 and out.count("backup 20") == 1, out
    assert len(sent(restic, tmp_path)) == 1  # the dumps: once in the hour


def archive_copies(restic: str, tmp_path: Path) -> list[dict]:
    done = snapshots(restic, tmp_path)
    assert done.returncode == 0, done.stderr
    return [s for s in json.loads(done.stdout) or [] if "jesh-pitr" in s["tags"]]


def newest_archive_copy(restic: str, tmp_path: Path) -> str:
    """The paths in the newest copy of the archive, one per line."""
    env = {"PATH": os.environ["PATH"], "RESTIC_REPOSITORY": str(tmp_path / "repository"),
           "RESTIC_PASSWORD": PASSWORD, "RESTIC_CACHE_DIR": str(tmp_path / "cache")}
    newest = max(archive_copies(restic, tmp_path), key=lambda s: s["time"])
    return subprocess.run([restic, "--no-lock", "ls", newest["short_id"]], env=env, capture_output=True, text=True,
                          timeout=60).stdout


def test_bad_settings_are_refused_before_anything_is_sent(restic, tmp_path):
    backups = tmp_path / "backups"
    backup_at(backups, datetime.now(UTC))
    no_password = offsite(tmp_path, backups, "once", RESTIC_PASSWORD="")
    assert no_password.returncode == 2 and "RESTIC_PASSWORD" in no_password.stderr
    bad_knob = offsite(tmp_path, backups, "once", OFFSITE_KEEP_DAYS="0")
    assert bad_knob.returncode == 2 and "OFFSITE_KEEP_DAYS" in bad_knob.stderr
    assert not (tmp_path / "repository").exists()
    first = offsite(tmp_path, backups, "once")
    assert first.returncode == 0, first.stdout + first.stderr
    stolen = offsite(tmp_path, backups, "once", RESTIC_PASSWORD="guess")  # a wrong password never re-makes it
    assert stolen.returncode == 1 and "cannot open or make the repository" in stolen.stdout
    assert len(sent(restic, tmp_path)) == 1


def test_compose_sends_the_backups_off_site():
    compose = load_compose()
    offsite_service = compose["services"]["backup-offsite"]
    assert str(offsite_service["image"]).startswith("restic/restic:0.")
    env = environment_of(offsite_service)
    assert env["RESTIC_PASSWORD"].startswith("${RESTIC_PASSWORD:?")
    assert env["RESTIC_REPOSITORY"].startswith("${RESTIC_REPOSITORY:?")
    assert env["BACKUP_DIR"] == environment_of(compose["services"]["postgres-backup"])["BACKUP_DIR"]
    assert env["PITR_DIR"] == "/pitr" and "postgres-pitr:/pitr" in offsite_service["volumes"]
    assert check_compose(compose) == []
    without_archive = {**offsite_service, "environment": {k: v for k, v in offsite_service["environment"].items()
                                                          if k != "PITR_DIR"}}
    assert any("PITR_DIR" in p for p in check_compose({**compose, "services": {**compose["services"],
                                                                               "backup-offsite": without_archive}}))
    compose["services"]["backup-offsite"]["volumes"] = []
    assert any("backup-offsite" in p for p in check_compose(compose))
    del compose["services"]["backup-offsite"]
    assert any("backup-offsite" in p for p in check_compose(compose))
