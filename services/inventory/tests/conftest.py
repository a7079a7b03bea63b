"""Inventory test fixtures: a started service, an admin, and the booking service's events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from inventory.api import AT_ONCE
from jeshkit.clock import nairobi_today
from jeshstack.testing import EventBus, Listener, SigningKeys, wait_for


@pytest.fixture
def booking_applies(event_bus: EventBus) -> Iterator[Listener]:
    """Booking's consumer, stood in for: it announces at once each UnitCreated / UnitUpdated an admin's request waits
    for it to apply (jeshkit.applied); `.heard` holds them, `.silent = True` makes it announce nothing."""
    listener = event_bus.stand_in_applied("booking", [kind.event_type for kind in AT_ONCE])
    yield listener
    listener.stop()


@pytest.fixture
def start_inventory(make_service: Callable[..., Any], booking_applies: Listener) -> Callable[..., Any]:
    """Start an inventory replica (each call another one on the same database)."""

    def start(**overrides: Any) -> Any:
        return make_service("inventory", **overrides)

    return start


@pytest.fixture
def client(start_inventory: Callable[..., Any]) -> Any:
    return start_inventory()


@pytest.fixture
def admin(signing_keys: SigningKeys) -> dict[str, str]:
    return signing_keys.headers(1, "admin")


@pytest.fixture
def today() -> date:
    return nairobi_today(datetime.now(UTC))


@pytest.fixture
def new_unit(client: Any, admin: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Create a unit through the API and return it."""
    counter = iter(range(1, 10_000))

    def make(**fields: Any) -> dict[str, Any]:
        body = {"unit_number": f"U-{next(counter):03d}", "size": "small", "dimensions": "2x2 m", "monthly_price": 3000}
        body.update(fields)
        response = client.post("/api/units", json=body, headers=admin)
        assert response.status_code == 201, response.text
        return response.json()["data"]

    return make


class BookingEvents:
    """Publishes the booking service's events and waits until inventory's consumer has applied them."""

    def __init__(self, bus: EventBus, service_db: Engine) -> None:
        self.bus = bus
        self.db = service_db

    def processed(self, event_id: str) -> bool:
        with self.db.connect() as conn:
            return conn.execute(
                text("SELECT 1 FROM inbox WHERE consumer = 'inventory' AND event_id = :id"), {"id": event_id}
            ).first() is not None

    def publish(self, event_type: str, data: dict[str, Any], *, wait: bool = True, **options: Any) -> dict[str, Any]:
        envelope = self.bus.publish(event_type, data, source="booking", **options)
        if wait:
            wait_for(lambda: self.processed(envelope["id"]), timeout=15, what=f"{event_type} {envelope['id']} applied")
        return envelope

    @staticmethod
    def data(booking_id: int, unit_id: int, start: date, end: date, **extra: Any) -> dict[str, Any]:
        base = {
            "booking_id": booking_id,
            "user_id": 42,
            "unit_id": unit_id,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        }
        base.update(extra)
        return base

    def created(self, booking_id: int, unit_id: int, start: date, end: date, *, hold_seconds: float = 900,
                **options: Any) -> dict[str, Any]:
        expires = (datetime.now(UTC) + timedelta(seconds=hold_seconds)).isoformat()
        data = self.data(booking_id, unit_id, start, end, total_price=3000, hold_expires_at=expires)
        return self.publish("BookingCreated", data, **options)

    def confirmed(self, booking_id: int, unit_id: int, start: date, end: date, **options: Any) -> dict[str, Any]:
        return self.publish("BookingConfirmed", self.data(booking_id, unit_id, start, end, total_price=3000), **options)

    def cancelled(self, booking_id: int, unit_id: int, start: date, end: date, reason: str = "user",
                  **options: Any) -> dict[str, Any]:
        return self.publish("BookingCancelled", self.data(booking_id, unit_id, start, end, reason=reason), **options)

    def released(self, booking_id: int, unit_id: int, start: date, end: date, **options: Any) -> dict[str, Any]:
        data = self.data(booking_id, unit_id, start, end, reason="expired")
        data.pop("user_id")
        return self.publish("UnitReleased", data, **options)


@pytest.fixture
def bookings(client: Any, event_bus: EventBus, service_db: Engine) -> BookingEvents:
    return BookingEvents(event_bus, service_db)
