"""The whole stack as local processes: PostgreSQL, NATS, the Daraja and Pesapal simulators, the services, Traefik.

Used by `./jesh up` (state in .jesh/, gateway on JESH_GATEWAY_PORT) and by the end-to-end tests
(state in a temporary folder, every port picked free), so a running `./jesh up` never breaks the tests.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from jeshstack import demo
from jeshstack.databases import create_database_if_missing, run_migrations, with_db
from jeshstack.demo import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, DEV_PAYBILL_TOKEN
from jeshstack.procs import Nats, Postgres, Traefik, free_port, http_ok, port_open, wait_for
from jeshstack.supervision import ManagedProcess, supervise

SERVICES = ("auth", "inventory", "booking", "payments", "transport", "billing", "notifications")
# uvicorn keeps an idle connection open longer than the gateway does (gateway/traefik.yml, serversTransport
# idleConnTimeout 90s): with uvicorn's default of 5 s, Traefik now and then sent a request on a connection uvicorn was
# closing, and a POST, which it never retries, came back 502 (1 booking in 1645 in the bench). The Dockerfile's too.
KEEP_ALIVE_SECONDS = "100"


@dataclass
class StackConfig:
    state_dir: Path
    gateway_port: int
    console: TextIO | None = None
    replicas: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # extra environment for every service
    seed_demo_units: bool = True
    # Extra gateway routes, name → (path prefix, backend URLs, comma-separated), behind the same middlewares as /api
    # routes.
    extra_routes: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Build web/ (npm ci + npm run build when its sources changed) before serving it; the static server
    # starts either way and serves whatever web/dist holds (the browser tests build it themselves).
    build_web: bool = False
    postgres_settings: dict[str, str] = field(default_factory=dict)  # -c name=value for the local PostgreSQL


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.state_dir = config.state_dir.resolve()
        self.log_dir = self.state_dir / "logs"
        self.base_env = {**os.environ, **config.env}
        self.postgres: Postgres | None = None
        self.nats: Nats | None = None
        self.traefik: Traefik | None = None
        self.processes: dict[str, ManagedProcess] = {}
        self.service_urls: dict[str, list[str]] = {}
        self.database_urls: dict[str, str] = {}
        self.nats_url = ""
        self.internal_port = 0
        self.simulator_url = ""
        self.sms_simulator_url = ""
        self.smtp_url = ""
        self.mail_dir: Path | None = None
        self.at_callback_token = ""
        self.pesapal_url = ""
        self.web_url = ""
        self._supervising = threading.Event()

    # --- addresses ----------------------------------------------------------------------------
    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    def env_value(self, name: str, default: str = "") -> str:
        return self.base_env.get(name, default)

    # --- start ------------------------------------------------------------------------------------
    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._say(f"state in {self.state_dir}")
        self._start_postgres()
        self._start_nats()
        self.simulator_url = self._start_simulator("daraja-sim", "daraja_sim.app:create_app", "DARAJA_BASE_URL")
        self.pesapal_url = self._start_simulator("pesapal-sim", "pesapal_sim.app:create_app", "PESAPAL_BASE_URL")
        self._start_notification_simulators()
        self._start_web()
        self._start_services()
        self._start_gateway()
        self.wait_ready()
        if self.config.seed_demo_units:
            self.seed_demo_units()
        if not self.env_value("DARAJA_BASE_URL"):  # our simulator: its Paybill sends to us (a real one: an admin's act)
            demo.register_paybill(self.gateway_url, self.admin_token, self._say)
            if self.env_value("PAYBILL_PULL_INTERVAL_SECONDS", "0") not in ("", "0"):  # ./jesh up's; not the tests'
                demo.register_pull(self.gateway_url, self.admin_token, self._say)
        self.write_state()

    def _say(self, message: str) -> None:
        if self.config.console is not None:
            self.config.console.write(f"{'jesh':<12}| {message}\n")
            self.config.console.flush()

    def _start_postgres(self) -> None:
        external = self.env_value("JESH_POSTGRES_URL")
        if external:
            self._say("using the PostgreSQL server at JESH_POSTGRES_URL")
            base = external.replace("postgresql://", "postgresql+psycopg2://", 1)
            for name in SERVICES:
                self.database_urls[name] = self.env_value(f"{name.upper()}_DATABASE_URL") or with_db(base, name)
                create_database_if_missing(base, name)
        else:
            self.postgres = Postgres(self.state_dir / "postgres" / "data", free_port(), self.log_dir / "postgres.log",
                                     self.config.postgres_settings)
            self.postgres.init()
            self.postgres.start()
            self._say(f"PostgreSQL on 127.0.0.1:{self.postgres.port}")
            for name in SERVICES:
                self.database_urls[name] = self.env_value(f"{name.upper()}_DATABASE_URL") or (
                    self.postgres.ensure_database(name)
                )
        for name in SERVICES:
            run_migrations(name, self.database_urls[name])
        self._say("migrations applied")

    def _start_nats(self) -> None:
        external = self.env_value("NATS_URL")
        if external:
            self.nats_url = external
            self._say(f"using NATS at {external}")
            return
        self.nats = Nats(self.state_dir / "nats", free_port(), self.log_dir / "nats.log")
        self.nats.start()
        self.nats_url = self.nats.url
        self._say(f"NATS (JetStream) on {self.nats_url}")

    def uvicorn_command(self, target: str, port: int) -> list[str]:
        """How every service and simulator is started: the app factory `target` under uvicorn on `port`."""
        return [
            sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "5",
            "--timeout-keep-alive", KEEP_ALIVE_SECONDS,
        ]

    def _start_simulator(self, name: str, target: str, url_variable: str) -> str:
        """An outside party's simulator on a free port, unless `url_variable` points at the real one; its URL."""
        if self.env_value(url_variable):
            return self.env_value(url_variable)
        port = free_port()
        proc = ManagedProcess(name, self.uvicorn_command(target, port), dict(self.base_env),
                              self.log_dir / f"{name}.log", self.config.console)
        proc.start()
        self.processes[name] = proc
        return f"http://127.0.0.1:{port}"

    def _start_notification_simulators(self) -> None:
        """Africa's Talking (SMS, posting delivery reports through the gateway) and an SMTP server keeping mail
        in .jesh/mail (a Maildir), unless AT_BASE_URL / SMTP_URL point at real ones."""
        self.at_callback_token = self.env_value("AT_CALLBACK_TOKEN") or secrets.token_urlsafe(24)
        self.sms_simulator_url = self.env_value("AT_BASE_URL")
        if not self.sms_simulator_url:
            port = free_port()
            self.sms_simulator_url = f"http://127.0.0.1:{port}"
            public = self.env_value("PUBLIC_BASE_URL", self.gateway_url).rstrip("/")
            env = {**self.base_env, "AT_SIM_STORE": str(self.state_dir / "sms" / "messages.jsonl"),
                   "AT_SIM_CALLBACK_URL": f"{public}/api/notifications/hooks/sms/{self.at_callback_token}"}
            self.processes["sms-sim"] = ManagedProcess(
                "sms-sim", self.uvicorn_command("at_sim.app:create_app", port), env, self.log_dir / "sms-sim.log",
                self.config.console,
            )
            self.processes["sms-sim"].start()
        self.smtp_url = self.env_value("SMTP_URL")
        if not self.smtp_url:
            port = free_port()
            self.smtp_url = f"smtp://127.0.0.1:{port}"
            self.mail_dir = self.state_dir / "mail"
            cmd = [sys.executable, "-m", "smtp_sim", "--port", str(port), "--maildir", str(self.mail_dir)]
            self.processes["smtp-sim"] = ManagedProcess(
                "smtp-sim", cmd, dict(self.base_env), self.log_dir / "smtp-sim.log", self.config.console
            )
            self.processes["smtp-sim"].start()
    def _start_web(self) -> None:
        from jeshstack import web

        if self.config.build_web:
            self._say("building web/ (when its sources changed)")
            web.ensure_built(self.config.console)
        self.web_url = f"http://127.0.0.1:{free_port()}"
        cmd = [sys.executable, "-m", "jeshstack.web", "--port", self.web_url.rsplit(":", 1)[1], "--root", str(web.DIST)]
        proc = ManagedProcess("web", cmd, dict(self.base_env), self.log_dir / "web.log", self.config.console)
        proc.start()
        self.processes["web"] = proc

    def service_env(self, name: str) -> dict[str, str]:
        auth_url = self.service_urls["auth"][0]
        env = dict(self.base_env)
        env.update(
            {
                "SERVICE_NAME": name,
                "DATABASE_URL": self.database_urls[name],
                "NATS_URL": self.nats_url,
                "AUTH_JWKS_URL": f"{auth_url}/api/auth/.well-known/jwks.json",
                "INVENTORY_URL": self.service_urls["inventory"][0],
                "BOOKING_URL": self.service_urls["booking"][0],
                "BILLING_URL": self.service_urls["billing"][0],
                "PAYMENTS_URL": self.service_urls["payments"][0],
                "TRANSPORT_URL": self.service_urls["transport"][0],
                "DARAJA_BASE_URL": self.simulator_url,
                "AT_BASE_URL": self.sms_simulator_url,
                "AT_CALLBACK_TOKEN": self.at_callback_token,
                "SMTP_URL": self.smtp_url,
                "PESAPAL_BASE_URL": self.pesapal_url,
                # The Paybill (customers pay from their phone's menu): payments' URL secret, notifications' number.
                "MPESA_C2B_TOKEN": self.env_value("MPESA_C2B_TOKEN", DEV_PAYBILL_TOKEN),
                "PAYBILL_NUMBER": self.env_value("PAYBILL_NUMBER", "174379"),
                "PUBLIC_BASE_URL": self.env_value("PUBLIC_BASE_URL", self.gateway_url),
                "ENVIRONMENT": self.env_value("ENVIRONMENT", "development"),
                # glibc gives every thread its own arena: with a thread pool that multiplies idle memory.
                "MALLOC_ARENA_MAX": self.env_value("MALLOC_ARENA_MAX", "2"),
                "AUTH_SIGNING_KEY_FILE": self.env_value(
                    "AUTH_SIGNING_KEY_FILE", str(self.state_dir / "auth" / "signing-key.pem")
                ),
                "JESH_ADMIN_EMAIL": self.env_value("JESH_ADMIN_EMAIL", DEV_ADMIN_EMAIL),
                "JESH_ADMIN_PASSWORD": self.env_value("JESH_ADMIN_PASSWORD", DEV_ADMIN_PASSWORD),
            }
        )
        return env

    def _start_services(self) -> None:
        for name in SERVICES:
            count = max(1, self.config.replicas.get(name, 1))
            self.service_urls[name] = [f"http://127.0.0.1:{free_port()}" for _ in range(count)]
        for name in SERVICES:
            for index, url in enumerate(self.service_urls[name]):
                key = name if index == 0 else f"{name}-{index + 1}"
                port = int(url.rsplit(":", 1)[1])
                proc = ManagedProcess(
                    key, self.uvicorn_command(f"{name}.app:create_app", port), self.service_env(name),
                    self.log_dir / f"{key}.log", self.config.console,
                )
                proc.start()
                self.processes[key] = proc

    def _start_gateway(self) -> None:
        from jeshstack.gateway import traefik_env, write_traefik_config

        self.internal_port = free_port()
        config_file = write_traefik_config(
            self.state_dir, web_port=self.config.gateway_port, internal_port=self.internal_port, log_dir=self.log_dir,
            extra_dynamic=self._extra_dynamic(),
        )
        self.traefik = Traefik(config_file, traefik_env(self.service_urls, self.base_env_gateway()),
                               self.log_dir / "traefik.log")
        self.traefik.start(f"http://127.0.0.1:{self.internal_port}/ping")
        self._say(f"gateway on {self.gateway_url}")

    def _extra_dynamic(self) -> dict[str, Any] | None:
        if not self.config.extra_routes:
            return None
        middlewares = ["cors", "security-headers", "errors-api", "ratelimit-api", "body-limit", "retry"]
        routers, services = {}, {}
        for name, (prefix, urls) in self.config.extra_routes.items():
            routers[name] = {"entryPoints": ["web"], "rule": f"PathPrefix(`{prefix}`)", "priority": 250,
                             "service": name, "middlewares": middlewares}
            services[name] = {"loadBalancer": {"servers": [{"url": url} for url in urls.split(",")]}}
        return {"extra-routes": {"http": {"routers": routers, "services": services}}}

    def base_env_gateway(self) -> dict[str, str]:
        env = {k: v for k, v in self.base_env.items() if k.startswith("JESH_")}
        if self.web_url:
            env["JESH_WEB_URLS"] = self.web_url
        return env

    def process_urls(self) -> dict[str, str]:
        out = {}
        for name, urls in self.service_urls.items():
            for index, url in enumerate(urls):
                out[name if index == 0 else f"{name}-{index + 1}"] = url
        return out

    def wait_ready(self, timeout: float = 120.0) -> None:
        checks: dict[str, str] = {f"{k}": f"{u}/readyz" for k, u in self.process_urls().items()}
        if "daraja-sim" in self.processes:
            checks["daraja-sim"] = f"{self.simulator_url}/healthz"
        if "sms-sim" in self.processes:
            checks["sms-sim"] = f"{self.sms_simulator_url}/healthz"
        if "pesapal-sim" in self.processes:
            checks["pesapal-sim"] = f"{self.pesapal_url}/healthz"
        if self.web_url:
            checks["web"] = f"{self.web_url}/healthz"
        pending = dict(checks)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                proc = self.processes.get(name)
                if proc is not None and proc.proc is not None and proc.proc.poll() is not None:
                    raise RuntimeError(f"{name} exited during start-up; see {proc.log_file}")
                if http_ok(url):
                    del pending[name]
            time.sleep(0.2)
        if pending:
            raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")
        if "smtp-sim" in self.processes:
            smtp_port = int(self.smtp_url.rsplit(":", 1)[1])
            wait_for(lambda: port_open(smtp_port), timeout=30, what="the SMTP simulator")
        # Traefik health-checks each replica on its own schedule: wait until it routes to every service.
        probes = {"/api/units": 200, "/api/auth/profile": 401, "/api/bookings": 401,
                  "/api/payments/status/1": 401, "/api/transport-requests": 401,
                  "/api/invoices": 401, "/api/billing/rentals/1": 401, "/api/notifications": 401}
        for path, status in probes.items():
            wait_for(lambda p=path, s=status: _status_of(f"{self.gateway_url}{p}") == s, timeout=30,
                       what=f"the gateway route {path}", tolerate=(Exception,))
        self._say("every service is ready")

    # --- demo data --------------------------------------------------------------------------------
    def admin_token(self) -> str:
        return demo.admin_token(self.gateway_url, self.env_value("JESH_ADMIN_EMAIL", DEV_ADMIN_EMAIL),
                                self.env_value("JESH_ADMIN_PASSWORD", DEV_ADMIN_PASSWORD))

    def seed_demo_units(self) -> None:
        demo.seed_demo_units(self.gateway_url, self.admin_token, self._say)

    # --- state ------------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {
            "supervisor_pid": os.getpid(),
            "gateway": self.gateway_url,
            "gateway_internal": f"http://127.0.0.1:{self.internal_port}",
            "postgres": f"127.0.0.1:{self.postgres.port}" if self.postgres else "external",
            "nats": self.nats_url,
            "daraja_simulator": self.simulator_url,
            "sms_simulator": self.sms_simulator_url,
            "mail": str(self.mail_dir) if self.mail_dir else self.smtp_url,
            "pesapal_simulator": self.pesapal_url,
            "web": self.web_url,
            "services": self.process_urls(),
            "logs": str(self.log_dir),
            "admin_email": self.env_value("JESH_ADMIN_EMAIL", DEV_ADMIN_EMAIL),
        }

    def write_state(self) -> None:
        (self.state_dir / "state.json").write_text(json.dumps(self.describe(), indent=2))

    # --- supervision and faults -------------------------------------------------------------------
    def supervise(self, stop: threading.Event, on_restart: Callable[[str], None] | None = None) -> None:
        supervise(self.processes, stop, self._say, on_restart)

    def start_supervisor_thread(self) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self.supervise, args=(stop,), daemon=True).start()
        return stop

    def stop_process(self, name: str) -> None:
        self.processes[name].stop()

    def start_process(self, name: str, *, wait: bool = True) -> None:
        self.processes[name].start()
        if wait:
            url = self.process_urls().get(name)
            if url:
                wait_for(lambda: http_ok(f"{url}/readyz"), timeout=60, what=name, tolerate=(Exception,))

    def stop(self) -> None:
        if self.traefik:
            self.traefik.stop()
        for name in reversed(list(self.processes)):
            self.processes[name].stop()
        if self.nats:
            self.nats.stop()
        if self.postgres:
            self.postgres.stop()
        state = self.state_dir / "state.json"
        if state.exists():
            state.unlink()


def _status_of(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0
