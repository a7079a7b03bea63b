"""Fixtures of the billing tests: the service against real PostgreSQL and NATS, fed with its peers' events."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from jeshstack.testing import EventBus, SigningKeys, wait_for


@pytest.fixture
def billing_db(migrated_databases: Callable[[str], str]) -> Iterator[Engine]:
    engine = create_engine(migrated_databases("billing"))
    yield engine
    engine.dispose()


class Billing:
    """Drives the billing service the way its peers do (events) and reads what it did (its tables, its outbox)."""

    def __init__(self, client: Any, bus: EventBus, db: Engine, keys: SigningKeys) -> None:
        self.client = client
        self.bus = bus
        self.db = db
        self.keys = keys
        self.admin = keys.headers(1, "admin")
        self._payment_ids = iter(range(1000, 10**6))

    def owner(self, user_id: int) -> dict[str, str]:
        return self.keys.headers(user_id)

    def sessions(self) -> sessionmaker[Session]:
        """Sessions on billing's database as the service makes them (the events they stage are billing's), for
        driving its use cases in this process."""
        factory = sessionmaker(self.db, expire_on_commit=False)
        factory.kw["info"] = {"service": "billing", "subject_prefix": "jesh.events"}
        return factory

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]

    def rental_row(self, booking_id: int) -> dict[str, Any] | None:
        found = self.rows("SELECT * FROM rentals WHERE booking_id = :b", b=booking_id)
        return found[0] if found else None

    def events(self, event_type: str, **match: Any) -> list[dict[str, Any]]:
        """The data of the events billing staged (its outbox), oldest first, matching `match`."""
        found = self.rows("SELECT payload FROM outbox WHERE type = :t ORDER BY created_at, id", t=event_type)
        out = [r["payload"]["data"] for r in found]
        return [d for d in out if all(d.get(k) == v for k, v in match.items())]

    # --- what peers say -------------------------------------------------------------------------------
    def confirm_rental(self, booking_id: int, start: date, *, user_id: int = 5, unit_id: int = 1, rate: int = 3000,
                       end: date | None = None, paid: bool = True, paid_at: datetime | None = None) -> dict[str, Any]:
        """A monthly booking paid (PaymentSucceeded) and confirmed (BookingConfirmed); wait for invoice 1."""
        if paid:
            self.pay(booking_id, rate, user_id=user_id, paid_at=paid_at)
        self.bus.publish("BookingConfirmed", {
            "booking_id": booking_id, "user_id": user_id, "unit_id": unit_id, "start_date": start.isoformat(),
            "end_date": end.isoformat() if end else None, "total_price": rate, "plan": "monthly",
            "monthly_rate": rate,
        })
        wait_for(lambda: self.rental_row(booking_id), what=f"rental {booking_id}")
        if paid:
            self.wait_invoices(booking_id, 1)
        return self.account(booking_id)

    def pay(self, booking_id: int, amount: int, *, invoice_id: int | None = None, user_id: int = 5,
            method: str = "mpesa", paid_at: datetime | None = None) -> int:
        payment_id = next(self._payment_ids)
        self.bus.publish("PaymentSucceeded", {
            "payment_id": payment_id, "booking_id": booking_id, "user_id": user_id, "amount": amount,
            "method": method, "receipt": f"RCP{payment_id}", "checkout_request_id": f"ws_CO_{uuid.uuid4().hex[:10]}",
            "paid_at": (paid_at or datetime.now(UTC)).isoformat(), "invoice_id": invoice_id,
        })
        wait_for(lambda: self.rows("SELECT 1 FROM payments WHERE payment_id = :p", p=payment_id),
                 what=f"payment {payment_id} recorded")
        return payment_id

    # --- its API --------------------------------------------------------------------------------------
    def account(self, booking_id: int) -> dict[str, Any]:
        r = self.client.get(f"/api/billing/rentals/{booking_id}", headers=self.admin)
        assert r.status_code == 200, r.text
        return dict(r.json()["data"])

    def advance(self, booking_id: int, to: date) -> dict[str, Any]:
        r = self.client.post(f"/api/billing/rentals/{booking_id}/advance", json={"to": to.isoformat()},
                             headers=self.admin)
        assert r.status_code == 200, r.text
        return dict(r.json()["data"])

    def invoices(self, booking_id: int) -> list[dict[str, Any]]:
        r = self.client.get("/api/invoices", params={"booking_id": booking_id}, headers=self.admin)
        assert r.status_code == 200, r.text
        return sorted(r.json()["data"], key=lambda i: i["period_start"])

    def wait_invoices(self, booking_id: int, count: int) -> list[dict[str, Any]]:
        return wait_for(lambda: found if len(found := self.invoices(booking_id)) >= count else None,
                        what=f"{count} invoice(s) of rental {booking_id}")


@pytest.fixture
def start_billing(make_service: Callable[..., Any], event_bus: EventBus, billing_db: Engine,
                  signing_keys: SigningKeys) -> Callable[..., Billing]:
    """start_billing(**settings): the billing service and a driver for it. The daily job bills nothing on its
    own unless a test asks (its run hour is set past the end of the day)."""

    def start(**overrides: Any) -> Billing:
        overrides.setdefault("billing_run_hour", 23)
        overrides.setdefault("billing_job_interval_seconds", 3600)
        client = make_service("billing", **overrides)
        return Billing(client, event_bus, billing_db, signing_keys)

    return start
