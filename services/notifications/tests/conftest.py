"""Fixtures of the notifications tests: the service on real PostgreSQL and NATS, with the Africa's Talking
simulator (real HTTP, delivery reports posted to the service's hook) and the local SMTP server (a Maildir)."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, create_engine, text

TOOLS = Path(__file__).resolve().parents[3] / "tools"
for tool in ("at_sim", "smtp_sim"):
    try:
        __import__(tool)
    except ImportError:  # not pip-installed yet (./jesh installs tools/* editable)
        sys.path.insert(0, str(TOOLS / tool / "src"))

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.handlers import Mailbox  # noqa: E402

from at_sim.app import SimSettings  # noqa: E402
from at_sim.app import create_app as create_at_sim  # noqa: E402
from jeshkit.messaging import ensure_stream  # noqa: E402
from jeshkit.settings import ServiceSettings  # noqa: E402
from jeshstack.procs import free_port  # noqa: E402
from jeshstack.pytest_plugin import LiveServer  # noqa: E402
from jeshstack.testing import EventBus, SigningKeys, wait_for  # noqa: E402
from smtp_sim import read_mail  # noqa: E402

TOKEN = secrets.token_urlsafe(16)


class SmsGateway:
    """The Africa's Talking simulator on a fixed port; it can be stopped (the gateway is down) and started again."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = store
        self.callback_url = ""
        self.server: LiveServer | None = None

    def start(self) -> None:
        if self.server is None:
            settings = SimSettings(callback_url=self.callback_url, delivery_delay_seconds=0.3, store=str(self.store))
            self.server = LiveServer(create_at_sim(settings), self.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def messages(self, phone: str | None = None) -> list[dict[str, Any]]:
        rows = httpx.get(f"{self.url}/simulator/messages", params={"to": phone} if phone else None, timeout=5).json()
        return list(rows)


class MailServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.controller = Controller(Mailbox(str(folder)), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def mail(self, to: str | None = None) -> list[Any]:
        return [m for m in read_mail(self.folder) if to is None or m["To"] == to]

    def stop(self) -> None:
        self.controller.stop()


class AuthStub:
    """Serves auth's documented GET /internal/users/{id} from a dict (the peer's contract, nothing more); `down`
    makes it answer 503 as an auth that cannot answer would."""

    def __init__(self) -> None:
        self.users: dict[int, dict[str, Any]] = {}
        self.asked: list[int] = []
        self.down = False
        app = FastAPI()

        @app.get("/internal/users/{user_id}")
        def user(user_id: int) -> JSONResponse:
            self.asked.append(user_id)
            if self.down:
                return JSONResponse({"success": False, "message": "Service temporarily unavailable"}, status_code=503)
            if user_id not in self.users:
                return JSONResponse({"success": False, "message": "User not found"}, status_code=404)
            return JSONResponse({"success": True, "data": self.users[user_id]})

        self.server = LiveServer(app, free_port())
        self.url = f"http://127.0.0.1:{self.server.port}"

    def add(self, user_id: int, *, phone: str | None = "254712345678", name: str = "Wanjiku Kamau",
            email: str | None = None) -> None:
        self.users[user_id] = {"user_id": user_id, "email": email or f"user{user_id}@example.co.ke", "name": name,
                               "role": "user", "phone": phone}

    def reset(self) -> None:
        self.users.clear()
        self.asked.clear()
        self.down = False


@pytest.fixture(scope="session")
def auth_stub() -> Iterator[AuthStub]:
    stub = AuthStub()
    yield stub
    stub.server.stop()


class Notifications:
    """Drives the notifications service in a test: events in, its API, its database, the simulators' view."""

    def __init__(self, client: Any, keys: SigningKeys, db: Engine, bus: EventBus, sms: SmsGateway,
                 mail: MailServer, auth: AuthStub) -> None:
        self.client = client
        self.auth = auth
        self.keys = keys
        self.db = db
        self.bus = bus
        self.sms = sms
        self.mail = mail

    # --- events ------------------------------------------------------------------------------------
    def publish(self, event_type: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self.bus.publish(event_type, data, **kwargs)

    def publish_at(self, event_type: str, data: dict[str, Any], *, occurred_at: datetime,
                   source: str) -> dict[str, Any]:
        """Publish an event whose envelope says it happened at `occurred_at` (the bus stamps the present)."""
        envelope = self.bus.envelope(event_type, data, source=source)
        envelope["occurred_at"] = occurred_at.isoformat()

        async def go() -> None:
            nc = await nats.connect(self.bus.nats_url)
            try:
                await ensure_stream(nc.jetstream(), ServiceSettings(events_stream=self.bus.stream,
                                                                    events_subject_prefix=self.bus.prefix))
                await nc.jetstream().publish(f"{self.bus.prefix}.{event_type}", json.dumps(envelope).encode(),
                                             headers={"Nats-Msg-Id": envelope["id"]})
            finally:
                await nc.close()

        asyncio.run(go())
        return envelope

    def user(self, user_id: int, *, phone: str = "254712345678", name: str = "Wanjiku Kamau",
             email: str | None = None, language: str | None = None) -> dict[str, Any]:
        """A registered user (UserRegistered published and applied); returns the event's envelope."""
        env = self.publish("UserRegistered", {"user_id": user_id, "email": email or f"user{user_id}@example.co.ke",
                                              "name": name, "role": "user", "phone": phone}, source="auth")
        wait_for(lambda: self.rows(user_id=user_id, template="welcome") or self.recipient(user_id),
                 what=f"user {user_id} known")
        if language:
            r = self.client.put("/api/notifications/preferences", json={"language": language},
                                headers=self.keys.headers(user_id))
            assert r.status_code == 200, r.text
        return env

    # --- database ------------------------------------------------------------------------------------
    def rows(self, **where: Any) -> list[dict[str, Any]]:
        clause = " AND ".join(f'"{key}" = :{key}' for key in where) or "true"
        with self.db.connect() as conn:
            return [dict(r) for r in conn.execute(
                text(f"SELECT * FROM notifications WHERE {clause} ORDER BY id"), where).mappings()]

    def held(self, **where: Any) -> list[dict[str, Any]]:
        clause = " AND ".join(f'"{key}" = :{key}' for key in where) or "true"
        with self.db.connect() as conn:
            return [dict(r) for r in conn.execute(
                text(f"SELECT * FROM held_messages WHERE {clause} ORDER BY id"), where).mappings()]

    def recipient(self, user_id: int) -> dict[str, Any] | None:
        with self.db.connect() as conn:
            row = conn.execute(text("SELECT * FROM recipients WHERE user_id = :id"), {"id": user_id}).mappings().first()
        return dict(row) if row else None

    def wait_rows(self, count: int, timeout: float = 15, **where: Any) -> list[dict[str, Any]]:
        return wait_for(lambda: rows if len(rows := self.rows(**where)) >= count else None, timeout=timeout,
                        what=f"{count} notifications with {where}")

    def wait_status(self, *statuses: str, timeout: float = 15, **where: Any) -> list[dict[str, Any]]:
        """Wait until every notification matching `where` has one of `statuses` (and there is one)."""

        def check() -> list[dict[str, Any]] | None:
            rows = self.rows(**where)
            return rows if rows and all(r["status"] in statuses for r in rows) else None

        return wait_for(check, timeout=timeout, what=f"notifications {where} {statuses}")

    @staticmethod
    def later(seconds: float) -> str:
        return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def db(migrated_databases: Callable[[str], str]) -> Iterator[Engine]:
    engine = create_engine(migrated_databases("notifications"))
    yield engine
    engine.dispose()


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[MailServer]:
    server = MailServer(tmp_path / "mail")
    yield server
    server.stop()


@pytest.fixture
def start_notifications(
    make_service: Callable[..., Any], tmp_path: Path, mail_server: MailServer, signing_keys: SigningKeys,
    db: Engine, event_bus: EventBus, auth_stub: AuthStub,
) -> Iterator[Callable[..., Notifications]]:
    """Start a notifications replica and the SMS simulator (sms_up=False: the SMS gateway is down). The first
    replica is a real uvicorn (the simulator posts delivery reports to it); calling again adds a replica."""
    sms = SmsGateway(tmp_path / "sms.jsonl")
    replicas: list[Notifications] = []
    auth_stub.reset()

    def start(*, sms_up: bool = True, **overrides: Any) -> Notifications:
        values: dict[str, Any] = {
            "at_base_url": sms.url, "at_callback_token": TOKEN, "smtp_url": mail_server.url,
            "notify_quiet_hours": "", "notify_send_interval_seconds": 0.1, "notify_retry_base_seconds": 0.2,
            "notify_retry_max_seconds": 1.0, "auth_url": auth_stub.url,
        }
        values.update(overrides)
        if not replicas:
            client = make_service("notifications", serve=True, **values)
            sms.callback_url = f"http://127.0.0.1:{client.port}/api/notifications/hooks/sms/{TOKEN}"
        else:
            client = make_service("notifications", **values)
        if sms_up:
            sms.start()
        replica = Notifications(client, signing_keys, db, event_bus, sms, mail_server, auth_stub)
        replicas.append(replica)
        return replica

    yield start
    sms.stop()


@pytest.fixture
def n(start_notifications: Callable[..., Notifications]) -> Notifications:
    return start_notifications()
