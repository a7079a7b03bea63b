"""Fixtures of the booking tests: the service against real PostgreSQL and NATS, a stand-in inventory peer."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine

from booking.api import AT_ONCE
from jeshkit.clock import nairobi_today
from jeshkit.messaging import ensure_stream
from jeshkit.settings import ServiceSettings
from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import EventBus, Listener, wait_for


@pytest.fixture
def day() -> Callable[[int], str]:
    """day(n): the date n days after today in Nairobi, as YYYY-MM-DD."""
    return lambda n: (nairobi_today() + timedelta(days=n)).isoformat()


class InventoryStub:
    """Serves inventory's documented GET /internal/units/{id} from a dict (the peer's contract, nothing more)."""

    def __init__(self) -> None:
        self.units: dict[int, dict[str, Any]] = {}
        self.asked: list[int] = []
        app = FastAPI()

        @app.get("/internal/units/{unit_id}")
        def unit(unit_id: int) -> JSONResponse:
            self.asked.append(unit_id)
            if unit_id not in self.units:
                return JSONResponse({"success": False, "message": "Unit not found"}, status_code=404)
            return JSONResponse({"data": self.units[unit_id]})

        self.server = LiveServer(app, free_port())
        self.url = f"http://127.0.0.1:{self.server.port}"

    def add(self, unit_id: int, *, monthly_price: int = 3000, bookable: bool = True) -> None:
        self.units[unit_id] = {
            "unit_id": unit_id,
            "unit_number": f"U-{unit_id}",
            "size": "small",
            "monthly_price": monthly_price,
            "bookable": bookable,
        }


@pytest.fixture(scope="session")
def inventory_stub() -> Iterator[InventoryStub]:
    stub = InventoryStub()
    yield stub
    stub.server.stop()


@pytest.fixture
def inventory_applies(event_bus: EventBus) -> Iterator[Listener]:
    """Inventory's consumer, stood in for: it announces at once each event a booking request waits for it to apply
    (jeshkit.applied); `.heard` holds them, `.silent = True` makes it announce nothing (inventory away)."""
    listener = event_bus.stand_in_applied("inventory", [kind.event_type for kind in AT_ONCE])
    yield listener
    listener.stop()


@pytest.fixture
def start_booking(make_service: Callable[..., Any], inventory_stub: InventoryStub,
                  inventory_applies: Listener) -> Callable[..., Any]:
    """start_booking(**settings): the booking service (a TestClient), its inventory peer being the stub."""
    inventory_stub.units.clear()
    inventory_stub.asked.clear()

    def start(**overrides: Any) -> Any:
        overrides.setdefault("inventory_url", inventory_stub.url)
        return make_service("booking", **overrides)

    return start


class Kit:
    """What the booking tests share: the event bus, the booking database, the inventory stub."""

    def __init__(self, event_bus: EventBus, db: Engine, inventory: InventoryStub) -> None:
        self.bus = event_bus
        self.db = db
        self.inventory = inventory

    def publish_at(self, event_type: str, data: dict[str, Any], occurred_at: datetime) -> None:
        """Publish an event whose envelope says it happened at `occurred_at` (to deliver events out of order)."""
        envelope = self.bus.envelope(event_type, data)
        envelope["occurred_at"] = occurred_at.isoformat()

        async def go() -> None:
            nc = await nats.connect(self.bus.nats_url)
            try:
                js = nc.jetstream()
                stream = ServiceSettings(events_stream=self.bus.stream, events_subject_prefix=self.bus.prefix)
                await ensure_stream(js, stream)
                await js.publish(
                    f"{self.bus.prefix}.{event_type}",
                    json.dumps(envelope).encode(),
                    headers={"Nats-Msg-Id": envelope["id"]},
                )
            finally:
                await nc.close()

        asyncio.run(go())

    def row(self, table: str, key: str, value: int) -> dict[str, Any] | None:
        with self.db.connect() as conn:
            found = conn.execute(text(f"SELECT * FROM {table} WHERE {key} = :v"), {"v": value}).mappings().first()
        return dict(found) if found else None

    def unit_row(self, unit_id: int) -> dict[str, Any] | None:
        return self.row("units", "unit_id", unit_id)

    def booking_row(self, booking_id: int) -> dict[str, Any] | None:
        return self.row("bookings", "id", booking_id)

    def seed_unit(self, unit_id: int, *, monthly_price: int = 3000, bookable: bool = True) -> None:
        """A unit in inventory (the stub), announced with UnitCreated; waits until booking's copy has it (the service
        must be running)."""
        self.inventory.add(unit_id, monthly_price=monthly_price, bookable=bookable)
        self.bus.publish(
            "UnitCreated",
            {
                "unit_id": unit_id,
                "unit_number": f"U-{unit_id}",
                "size": "small",
                "monthly_price": monthly_price,
                "bookable": bookable,
            },
        )
        wait_for(
            lambda: (row := self.unit_row(unit_id)) is not None
            and row["monthly_price"] == monthly_price
            and row["bookable"] == bookable,
            what=f"unit {unit_id} in booking's copy",
        )

    def events(self, event_type: str, **match: Any) -> list[dict[str, Any]]:
        """The data of every `event_type` event in the stream whose data has all of `match`."""
        return [
            e["data"]
            for e in self.bus.events(event_type)
            if all(e["data"].get(key) == value for key, value in match.items())
        ]

    def wait_events(self, event_type: str, count: int = 1, **match: Any) -> list[dict[str, Any]]:
        """Wait until at least `count` matching events are in the stream; return them."""
        return wait_for(
            lambda: found if len(found := self.events(event_type, **match)) >= count else None,
            what=f"{count} {event_type} event(s) matching {match}",
        )

    @staticmethod
    def payment(booking: dict[str, Any], *, payment_id: int = 1, amount: int | None = None) -> dict[str, Any]:
        """PaymentSucceeded/PaymentFailed-like data for a booking (as the payments service sends it)."""
        return {
            "payment_id": payment_id,
            "booking_id": booking["id"],
            "user_id": booking["user_id"],
            "amount": booking["total_price"] if amount is None else amount,
            "method": "mpesa",
            "receipt": f"RCPT{payment_id:06d}",
            "checkout_request_id": f"ws_CO_{uuid.uuid4().hex[:12]}",
            "paid_at": datetime.now(UTC).isoformat(),
        }


@pytest.fixture
def kit(event_bus: EventBus, service_db: Engine, inventory_stub: InventoryStub) -> Kit:
    return Kit(event_bus, service_db, inventory_stub)
