"""Payments test fixtures: the Daraja simulator as a real HTTP server, and a payments service wired to it."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

try:
    import daraja_sim  # noqa: F401
except ImportError:  # not pip-installed yet (./jesh installs tools/* editable)
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools" / "daraja_sim" / "src"))

from daraja_sim.app import create_app as create_simulator
from daraja_sim.daraja import Daraja
from daraja_sim.settings import SimSettings
from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import wait_for

CALLBACK_DELAY = 0.3
ADMIN_ID = 1  # the admin the tests' tokens name
SLOW_CALLBACK_DELAY = 1.5


class Simulator:
    """The Daraja simulator on a fixed loopback port; its state survives stop()/start()."""

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self.daraja = Daraja(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: LiveServer | None = None
        self.start()

    def start(self) -> None:
        self.server = LiveServer(create_simulator(self.settings, daraja=self.daraja), self.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def client(self) -> httpx.Client:
        assert self.server is not None
        return self.server.client

    def transaction(self, checkout_request_id: str) -> dict[str, Any]:
        transaction = self.daraja.get(checkout_request_id)
        assert transaction is not None, checkout_request_id
        return transaction.to_dict()

    def settled_callback(self, checkout_request_id: str) -> dict[str, Any]:
        """The callback body Daraja sends (or would send) for this push, once the payer has answered."""
        return wait_for(
            lambda: self.transaction(checkout_request_id)["callback"], timeout=10, what="the simulator to settle"
        )


class Stack:
    """A payments service (real uvicorn) wired to the simulator, PostgreSQL and NATS."""

    def __init__(
        self, make_service: Any, sim: Simulator, event_bus: Any, db: Engine, signing_keys: Any
    ) -> None:
        self._make_service = make_service
        self.sim = sim
        self.event_bus = event_bus
        self.db = db
        self.keys = signing_keys
        self.http = httpx.Client(timeout=30)  # Daraja's side: posts callbacks like the simulator would

    def start(self, **overrides: Any) -> httpx.Client:
        settings: dict[str, Any] = {
            "daraja_base_url": self.sim.url,
            "payment_reconcile_after_seconds": 3600,
            "reconcile_interval_seconds": 0.2,
            "booking_url": f"http://127.0.0.1:{free_port()}",  # nobody there unless a test says so
        }
        settings.update(overrides)
        return self._make_service("payments", serve=True, **settings)

    def admin_get(self, client: httpx.Client, path: str) -> Any:
        """An admin's GET: the answer's data (asserting 200)."""
        r = client.get(path, headers=self.keys.headers(ADMIN_ID, "admin"))
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def booking(self, booking_id: int, user_id: int, total_price: int = 4500, **extra: Any) -> None:
        """Publish BookingCreated as the booking service would, and wait until payments has it."""
        data = {
            "booking_id": booking_id,
            "user_id": user_id,
            "unit_id": 7,
            "start_date": "2030-01-01",
            "end_date": "2030-02-01",
            "total_price": total_price,
            "hold_expires_at": (datetime.now(UTC) + timedelta(seconds=900)).isoformat(),
        }
        data.update(extra)
        self.event_bus.publish("BookingCreated", data)
        wait_for(lambda: self.booking_row(booking_id), timeout=10, what=f"booking {booking_id} to arrive")

    def booking_row(self, booking_id: int) -> dict[str, Any] | None:
        with self.db.connect() as conn:
            row = conn.execute(text("SELECT * FROM bookings WHERE booking_id = :id"), {"id": booking_id}).first()
        return dict(row._mapping) if row else None

    def initiate(
        self, client: httpx.Client, booking_id: int, user_id: int, phone: str = "0708374149", **extra: Any
    ) -> httpx.Response:
        body = {"booking_id": booking_id, "phone_number": phone, **extra}
        return client.post("/api/payments/mpesa/initiate", json=body, headers=self.keys.headers(user_id))

    def pay(self, client: httpx.Client, booking_id: int, user_id: int, phone: str = "0708374149") -> dict[str, Any]:
        r = self.initiate(client, booking_id, user_id, phone)
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def status(self, client: httpx.Client, booking_id: int, user_id: int, role: str = "user") -> httpx.Response:
        return client.get(f"/api/payments/status/{booking_id}", headers=self.keys.headers(user_id, role))

    def payments(self, booking_id: int) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            rows = conn.execute(
                text("SELECT * FROM payments WHERE booking_id = :id ORDER BY id"), {"id": booking_id}
            ).all()
        return [dict(r._mapping) for r in rows]

    def payment(self, checkout_request_id: str) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = conn.execute(
                text("SELECT * FROM payments WHERE checkout_request_id = :id"), {"id": checkout_request_id}
            ).one()
        return dict(row._mapping)

    def events(self, event_type: str, booking_id: int | None = None) -> list[dict[str, Any]]:
        """What reached NATS (one round trip of about half a second)."""
        return [
            e["data"]
            for e in self.event_bus.events(event_type)
            if booking_id is None or e["data"].get("booking_id") == booking_id
        ]

    def outbox(self, event_type: str, booking_id: int | None = None, *, sent: bool = False) -> list[dict[str, Any]]:
        """The events payments staged (an event leaves only through its outbox), optionally only the sent ones."""
        with self.db.connect() as conn:
            rows = conn.execute(
                text("SELECT payload, sent_at FROM outbox WHERE type = :type ORDER BY created_at"),
                {"type": event_type},
            ).all()
        return [
            r.payload["data"]
            for r in rows
            if (booking_id is None or r.payload["data"].get("booking_id") == booking_id)
            and (not sent or r.sent_at is not None)
        ]

    def wait_event(self, event_type: str, booking_id: int, timeout: float = 10) -> dict[str, Any]:
        """Wait until payments has published the event, and return it as NATS has it."""
        wait_for(
            lambda: self.outbox(event_type, booking_id, sent=True),
            timeout=timeout,
            interval=0.02,
            what=f"{event_type} for booking {booking_id}",
        )
        found = wait_for(lambda: self.events(event_type, booking_id), timeout=5, what=f"{event_type} in NATS")
        assert len(found) == 1, found
        return found[0]

    def callback_url(self, checkout_request_id: str) -> str:
        return str(self.sim.transaction(checkout_request_id)["CallBackURL"])

    def post_callback(self, url: str, body: Any) -> httpx.Response:
        if isinstance(body, bytes):
            return self.http.post(url, content=body, headers={"Content-Type": "application/json"})
        return self.http.post(url, json=body)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(
        SimSettings(callback_delay_seconds=CALLBACK_DELAY, slow_callback_delay_seconds=SLOW_CALLBACK_DELAY)
    )
    yield simulator
    simulator.stop()


@pytest.fixture
def stack(
    make_service: Any, sim: Simulator, event_bus: Any, service_db: Engine, signing_keys: Any
) -> Iterator[Stack]:
    stack = Stack(make_service, sim, event_bus, service_db, signing_keys)
    yield stack
    stack.http.close()


@pytest.fixture
def billing() -> Iterator[dict[str, Any]]:
    """A stand-in for billing's internal invoice route (the real one is billing's): tests fill `invoices`."""
    invoices: dict[int, dict[str, Any]] = {}
    accounts: dict[str, dict[str, Any]] = {}  # Paybill account numbers -> the invoice they pay
    app = FastAPI()

    @app.get("/internal/invoices/paybill/{account}")
    def paybill_invoice(account: str) -> JSONResponse:
        if account not in accounts:
            return JSONResponse({"success": False, "message": "No invoice for that account number"}, status_code=404)
        return JSONResponse({"success": True, "data": accounts[account]})

    stub: dict[str, Any] = {"invoices": invoices, "accounts": accounts, "after_answer": None}

    @app.get("/internal/invoices/{invoice_id}")
    def invoice(invoice_id: int) -> JSONResponse:
        if invoice_id not in invoices:
            return JSONResponse({"success": False, "message": "Invoice not found"}, status_code=404)
        answer = JSONResponse({"success": True, "data": invoices[invoice_id]})
        if stub["after_answer"] is not None:  # what billing does once its answer is written (a test's race)
            stub["after_answer"](invoice_id)
        return answer

    server = LiveServer(app, free_port())
    stub["url"] = f"http://127.0.0.1:{server.port}"
    yield stub
    server.stop()


@pytest.fixture
def booking_id() -> int:
    """A booking id no other test uses."""
    return uuid.uuid4().int % 1_000_000 + 1
