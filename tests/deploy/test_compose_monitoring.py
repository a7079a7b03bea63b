"""compose's monitoring (docker-compose.yml: prometheus, alertmanager, grafana): the files agree with the services,
Prometheus' and Alertmanager's own checkers accept them, the Alertmanager configuration compose writes from .env
delivers an alert by e-mail through a real Alertmanager (Debian's) to the SMTP simulator, and the backups'
healthchecks tell that Alertmanager when they keep failing (deploy/monitoring/healthcheck-alert.sh)."""

from __future__ import annotations

import copy
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from compose_check import check_compose, deployment_variables, interpolate, load_compose
from compose_monitoring import GRAFANA_PROVIDER, PROMETHEUS_CONFIG, config_content

from jeshstack.procs import free_port, port_open, wait_for
from smtp_sim import read_mail

REPO = Path(__file__).resolve().parents[2]


def rendered_alertmanager_config(**env: str) -> str:
    """Alertmanager's configuration as compose writes it from an operator's .env (with `env` in it)."""
    compose = load_compose()
    return config_content(interpolate(compose, {**deployment_variables(compose), **env}), "alertmanager")


def problems_after(change: Any) -> list[str]:
    compose = copy.deepcopy(load_compose())
    change(compose)
    return check_compose(compose)


def test_the_monitoring_agrees_with_the_services() -> None:
    assert problems_after(lambda compose: None) == []


@pytest.mark.parametrize(("change", "expected"), [
    (lambda c: c["services"].pop("alertmanager"), "alertmanager: missing from services (deploy/README.md, Alerts)"),
    (lambda c: c["services"]["grafana"].update(ports=["3000:3000"]),
     "grafana: publish 3000:3000 on the host's loopback only (127.0.0.1:...)"),
    (lambda c: c["services"]["prometheus"]["volumes"].pop(1),
     "prometheus: ./deploy/monitoring/alerts.yml must be mounted at /etc/prometheus/alerts.yml"),
    (lambda c: c["services"]["alertmanager"].update(networks=["monitoring"]),
     "alertmanager: must be on the egress network (the mail server is outside)"),
    (lambda c: c["configs"]["alertmanager"].update(
        content=c["configs"]["alertmanager"]["content"].replace("email_configs", "webhook_configs")),
     "configs.alertmanager: the route's receiver must e-mail the operators (email_configs)"),
    (lambda c: c["configs"]["grafana-datasource"].update(
        content=c["configs"]["grafana-datasource"]["content"].replace("prometheus:9090", "prometheus:9091")),
     "configs.grafana-datasource: must be uid jesh-prometheus at http://prometheus:9090"),
    (lambda c: c["services"]["postgres-pitr"]["healthcheck"].update(
        test=["CMD", "bash", "/usr/local/bin/jesh-pitr.sh", "check"]),
     "postgres-pitr: the healthcheck must run its check through /usr/local/bin/jesh-healthcheck-alert.sh "
     "postgres-pitr"),
    (lambda c: c["services"]["alertmanager"].update(networks=["monitoring", "egress"]),
     "postgres-backup: shares no network with alertmanager, which its healthcheck tells"),
])
def test_a_broken_monitoring_is_caught(change: Any, expected: str) -> None:
    assert expected in problems_after(change)


def test_a_service_left_out_of_the_scrape_is_caught(tmp_path: Path) -> None:
    from compose_monitoring import monitoring_problems

    repo = tmp_path / "repo"
    (repo / "deploy" / "monitoring").mkdir(parents=True)
    config = yaml.safe_load((REPO / PROMETHEUS_CONFIG).read_text())
    config["scrape_configs"][0]["dns_sd_configs"][0]["names"].remove("payments")
    (repo / PROMETHEUS_CONFIG).write_text(yaml.safe_dump(config))
    (repo / GRAFANA_PROVIDER).parent.mkdir(parents=True)
    (repo / GRAFANA_PROVIDER).write_text((REPO / GRAFANA_PROVIDER).read_text())
    compose = load_compose()
    resolved = interpolate(compose, deployment_variables(compose))
    assert f"{PROMETHEUS_CONFIG}: job jesh-services does not scrape payments" in monitoring_problems(
        compose, resolved, repo)


def test_promtool_accepts_the_compose_prometheus_config(promtool: str) -> None:
    """Its rule file is alerts.yml beside it, as mounted in the container."""
    done = subprocess.run([promtool, "check", "config", str(REPO / PROMETHEUS_CONFIG)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_amtool_accepts_the_alertmanager_config_and_refuses_a_broken_one(
    alertmanager_binaries: tuple[str, str], tmp_path: Path,
) -> None:
    _, amtool = alertmanager_binaries
    config = tmp_path / "alertmanager.yml"
    config.write_text(rendered_alertmanager_config())
    done = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    config.write_text(rendered_alertmanager_config(ALERT_SMTP_SMARTHOST="smtp.example.com"))  # no port
    assert subprocess.run([amtool, "check-config", str(config)], capture_output=True, timeout=60).returncode != 0


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The SMTP simulator (tools/smtp_sim) on a free port: (port, its Maildir)."""
    port, folder = free_port(), tmp_path / "mail"
    server = subprocess.Popen([sys.executable, "-m", "smtp_sim", "--port", str(port), "--maildir", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: port_open(port), timeout=20, what="smtp_sim")
        yield port, folder
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def alertmanager(alertmanager_binaries: tuple[str, str], tmp_path: Path) -> Iterator[Any]:
    """start(config) runs a real Alertmanager (Debian's) with that configuration on a free port: its URL."""
    binary, _ = alertmanager_binaries
    started: list[subprocess.Popen[bytes]] = []

    def start(config: dict[str, Any]) -> str:
        (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        started.append(subprocess.Popen([
            binary, f"--config.file={tmp_path / 'alertmanager.yml'}", f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
        ], stdout=subprocess.DEVNULL, stderr=(tmp_path / "alertmanager.log").open("w")))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{url}/-/ready", timeout=2).status_code == 200, timeout=30,
                 what="alertmanager", tolerate=(httpx.HTTPError,))
        return url

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def test_a_firing_alert_reaches_the_operators_by_e_mail_and_so_does_its_end(
    alertmanager: Any, mailbox: tuple[int, Path],
) -> None:
    """Compose's Alertmanager configuration, from .env, in a real Alertmanager; the alert posted as Prometheus posts
    it (API v2). Only the grouping wait is shortened (30 s in production), to keep the test short."""
    smtp_port, folder = mailbox
    config = yaml.safe_load(rendered_alertmanager_config(
        ALERT_SMTP_SMARTHOST=f"127.0.0.1:{smtp_port}", ALERT_SMTP_REQUIRE_TLS="false",
        ALERT_EMAIL_TO="operations@example.com", ALERT_EMAIL_FROM="Jesh Storage alerts <alerts@example.com>"))
    config["route"]["group_wait"] = config["route"]["group_interval"] = "1s"
    url = alertmanager(config)
    alert = {"labels": {"alertname": "RefundFailed", "service": "payments", "severity": "critical"},
             "annotations": {"summary": "A refund's payout failed: KES 1500 to 254708374149"}}
    assert httpx.post(f"{url}/api/v2/alerts", json=[alert], timeout=5).status_code == 200
    wait_for(lambda: len(read_mail(folder)) >= 1, timeout=30, what="the alert's e-mail")
    mail = read_mail(folder)[0]
    assert mail["To"] == "operations@example.com"
    assert "alerts@example.com" in mail["From"]
    assert "RefundFailed" in mail["Subject"] and "FIRING" in mail["Subject"]
    body = "".join(part.get_content() for part in mail.walk() if part.get_content_type() == "text/html")
    assert "payout failed: KES 1500 to 254708374149" in body

    ended = {**alert, "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))}
    assert httpx.post(f"{url}/api/v2/alerts", json=[ended], timeout=5).status_code == 200
    wait_for(lambda: len(read_mail(folder)) >= 2, timeout=30, what="the resolved e-mail")
    assert "RESOLVED" in read_mail(folder)[1]["Subject"]


# --- the backups' healthchecks tell Alertmanager (deploy/monitoring/healthcheck-alert.sh) --------------------------
HEALTHCHECK_ALERT = REPO / "deploy" / "monitoring" / "healthcheck-alert.sh"
QUIET = {"route": {"receiver": "nobody"}, "receivers": [{"name": "nobody"}]}


def healthcheck(name: str, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The wrapper run as compose's healthcheck runs it (sh: dash here, BusyBox in the images)."""
    import os

    return subprocess.run(["sh", str(HEALTHCHECK_ALERT), name, *command], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **env})


def backup_failing(url: str) -> list[dict[str, Any]]:
    alerts = httpx.get(f"{url}/api/v2/alerts", timeout=5).json()
    return [a for a in alerts if a["labels"].get("alertname") == "BackupFailing"]


def test_a_backup_failing_for_long_enough_alerts_and_its_recovery_resolves_it(alertmanager: Any, tmp_path: Path):
    url = alertmanager(QUIET)
    backups = tmp_path / "backups"
    backups.mkdir()
    check = ("bash", str(REPO / "deploy" / "postgres" / "backup.sh"), "check")
    env = {"ALERTMANAGER_API": url, "TMPDIR": str(tmp_path), "JESH_DATABASES": "auth", "BACKUP_DIR": str(backups)}

    done = healthcheck("postgres-backup", *check, **env, ALERT_AFTER_SECONDS="600")
    assert done.returncode == 1 and "no complete backup" in done.stdout  # the container's health is the check's
    assert backup_failing(url) == []  # failing, but not for 10 minutes yet

    before = time.time()
    done = healthcheck("postgres-backup", *check, **env, ALERT_AFTER_SECONDS="0", ALERT_HOLD_SECONDS="900")
    assert done.returncode == 1
    [alert] = backup_failing(url)
    assert alert["labels"] == {"alertname": "BackupFailing", "service": "postgres-backup", "severity": "critical"}
    assert alert["annotations"]["summary"] == f"postgres-backup: backup: no complete backup in {backups}"
    ends = time.mktime(time.strptime(alert["endsAt"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert before + 890 <= ends <= time.time() + 910  # lasts while it is posted again, then lapses on its own

    (backups / "2026-12-04T12-00-00Z").mkdir()
    (backups / "2026-12-04T12-00-00Z" / "COMPLETE").write_text(str(int(time.time())))
    done = healthcheck("postgres-backup", *check, **env, ALERT_AFTER_SECONDS="0")
    assert done.returncode == 0
    assert backup_failing(url) == []  # resolved at once


def test_the_alert_says_what_the_check_said_and_the_check_decides_the_health(alertmanager: Any, tmp_path: Path):
    url = alertmanager(QUIET)
    said = 'pitr: the "archive" at C:\\pitr\twal failed'
    done = healthcheck("postgres-pitr", "sh", "-c", f"echo starting; printf '%s\\n' '{said}' >&2; exit 3",
                       ALERTMANAGER_API=url, TMPDIR=str(tmp_path), ALERT_AFTER_SECONDS="0")
    assert done.returncode == 3
    [alert] = backup_failing(url)
    assert alert["annotations"]["summary"] == "postgres-pitr: " + said.replace("\t", "")  # control characters dropped

    unreachable = f"http://127.0.0.1:{free_port()}"
    done = healthcheck("backup-offsite", "false", ALERTMANAGER_API=unreachable, TMPDIR=str(tmp_path),
                       ALERT_AFTER_SECONDS="0")
    assert done.returncode == 1 and f"could not tell Alertmanager at {unreachable}" in done.stderr
    assert healthcheck("backup-offsite", "true", TMPDIR=str(tmp_path)).returncode == 0  # no Alertmanager: the check
    assert healthcheck("backup-offsite", "false", TMPDIR=str(tmp_path)).returncode == 1
