"""Fixtures of the transport tests: the service on real PostgreSQL and NATS, a stand-in booking service (asked about
a booking a request names that transport has not heard of)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import EventBus, SigningKeys, wait_for


@dataclass
class FakeBookingService:
    """Serves GET /internal/bookings/{id} in the documented shape, from `bookings`; counts the calls."""

    url: str
    bookings: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: list[int] = field(default_factory=list)
    during_call: Callable[[], Any] | None = None  # run inside each call, e.g. to look at transport's database

    def add(self, booking_id: int, user_id: int, status: str = "pending", cancel_reason: str | None = None) -> None:
        self.bookings[booking_id] = {
            "booking_id": booking_id,
            "user_id": user_id,
            "unit_id": 1,
            "start_date": "2030-01-01",
            "end_date": "2030-02-01",
            "total_price": 5000,
            "status": status,
            "payment_status": "pending",
            "hold_expires_at": None,
            "cancel_reason": cancel_reason,
        }


@pytest.fixture
def fake_booking() -> Iterator[FakeBookingService]:
    app = FastAPI()
    fake = FakeBookingService(url="")

    @app.get("/internal/bookings/{booking_id}")
    def internal_booking(booking_id: int) -> JSONResponse:
        fake.calls.append(booking_id)
        if fake.during_call is not None:
            fake.during_call()
        if booking_id not in fake.bookings:
            return JSONResponse({"success": False, "message": "Booking not found"}, status_code=404)
        return JSONResponse({"data": fake.bookings[booking_id]})

    server = LiveServer(app, free_port())
    fake.url = f"http://127.0.0.1:{server.port}"
    yield fake
    server.stop()


@pytest.fixture
def start_transport(make_service: Callable[..., Any], fake_booking: FakeBookingService) -> Callable[..., Any]:
    """Start a transport replica that asks the stand-in booking service (fake_booking) about bookings."""

    def start(**overrides: Any) -> Any:
        overrides.setdefault("booking_url", fake_booking.url)
        return make_service("transport", **overrides)

    return start


@pytest.fixture
def transport(start_transport: Callable[..., Any]) -> Any:
    return start_transport()


@pytest.fixture
def admin(signing_keys: SigningKeys) -> dict[str, str]:
    return signing_keys.headers(900, "admin")


class Transport:
    """Drives the transport service in a test: the client, tokens, its database and the events stream."""

    def __init__(
        self, client: Any, keys: SigningKeys, service_db: Engine, bus: EventBus, booking_service: FakeBookingService
    ) -> None:
        self.client = client
        self.keys = keys
        self.db = service_db
        self.bus = bus
        self.booking_service = booking_service

    @staticmethod
    def future(hours: float = 48) -> str:
        return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()

    @classmethod
    def body(cls, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "pickup_address": "12 Moi Avenue, Nairobi",
            "delivery_address": "Jesh Storage, Mombasa Road",
            "distance": 12.5,
            "preferred_time": cls.future(),
            "items_description": "Two sofas and ten boxes",
        }
        body.update(overrides)
        return body

    def as_user(self, user_id: int, role: str = "user") -> dict[str, str]:
        return self.keys.headers(user_id, role)

    def create(self, user_id: int = 1, **overrides: Any) -> int:
        """A request created by user_id; returns its id."""
        response = self.post(self.body(**overrides), user_id)
        assert response.status_code == 201, response.text
        return int(response.json()["data"]["id"])

    def post(self, body: Any, user_id: int = 1, role: str = "user") -> Any:
        return self.client.post("/api/transport-requests", json=body, headers=self.as_user(user_id, role))

    def patch_status(self, request_id: int, status: Any, *, headers: dict[str, str] | None = None) -> Any:
        return self.client.patch(
            f"/api/transport-requests/{request_id}/status",
            json={"status": status},
            headers=headers or self.as_user(900, "admin"),
        )

    def statuses(self) -> dict[int, str]:
        with self.db.connect() as conn:
            return dict(conn.execute(text("SELECT id, status FROM transport_requests ORDER BY id")).tuples().all())

    def known_booking(self, booking_id: int) -> dict[str, Any] | None:
        with self.db.connect() as conn:
            row = conn.execute(
                text("SELECT booking_id, user_id, cancelled FROM known_bookings WHERE booking_id = :id"),
                {"id": booking_id},
            ).mappings().first()
        return dict(row) if row else None

    def status_events(self) -> list[dict[str, Any]]:
        """The data of every TransportStatusChanged in the stream, oldest first."""
        return [event["data"] for event in self.bus.events("TransportStatusChanged")]

    def booking_exists(self, booking_id: int, user_id: int, status: str = "pending") -> None:
        """A booking the booking service answers for (transport hears no BookingCreated: it asks on a miss)."""
        self.booking_service.add(booking_id, user_id, status=status)

    def booking_confirmed(self, booking_id: int, user_id: int = 1) -> None:
        """Publish BookingConfirmed as the booking service would."""
        self.bus.publish("BookingConfirmed", {"booking_id": booking_id, "user_id": user_id, "unit_id": 1,
                                              "start_date": "2030-01-01", "end_date": "2030-02-01",
                                              "total_price": 5000}, source="booking")

    def settled(self, marker_booking_id: int) -> None:
        """Wait until the consumer has applied every event published so far (it applies them in order): a
        cancellation of a marker booking, published last, has been recorded."""
        self.booking_cancelled(booking_id=marker_booking_id, user_id=999)
        wait_for(lambda: self.known_booking(marker_booking_id) is not None, what=f"marker {marker_booking_id}")

    def booking_cancelled(self, booking_id: int, user_id: int, reason: str = "user", **kwargs: Any) -> dict[str, Any]:
        """Publish BookingCancelled as the booking service would; returns the envelope."""
        return self.bus.publish(
            "BookingCancelled",
            {
                "booking_id": booking_id,
                "user_id": user_id,
                "unit_id": 1,
                "start_date": "2030-01-01",
                "end_date": "2030-02-01",
                "reason": reason,
            },
            source="booking",
            **kwargs,
        )

    def inbox_count(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM inbox")).scalar_one())


@pytest.fixture
def t(
    transport: Any, signing_keys: SigningKeys, service_db: Engine, event_bus: EventBus,
    fake_booking: FakeBookingService,
) -> Transport:
    return Transport(transport, signing_keys, service_db, event_bus, fake_booking)
