"""Erasing a customer's personal data through the whole stack (Kenya's Data Protection Act, s.40): refused while
anything is live (a rental, then a refund owed), then done, after which no database of any service holds the
person's name, email or phone number, nor does the JetStream stream, and the money's records are still there."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from jeshstack.testing import EventBus, wait_for
from tests.e2e.api import Api, far_future

pytestmark = pytest.mark.e2e

SERVICES = ("auth", "inventory", "booking", "payments", "transport", "billing", "notifications")


@pytest.fixture
def person(gateway: str) -> Any:
    """A customer with a name, email and phone number no other test uses (so a database can be searched for them)."""
    api = Api(gateway)
    tag = uuid.uuid4().hex[:8]
    phone = f"079{secrets.randbelow(10 ** 5):05d}36"
    r = api.post("/api/auth/register", {"email": f"erase-{tag}@example.co.ke", "phone": phone,
                                        "name": f"Nyokabi Erasmus{tag}", "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    api.token = r.json()["token"]
    api.user = r.json()["user"]
    yield api
    api.close()


def traces(stack: Any, needles: list[str]) -> dict[str, int]:
    """'<service>.<table>' -> how many of its rows mention any of the needles (any case), in every service's
    database."""
    found: dict[str, int] = {}
    patterns = [f"%{n}%" for n in needles]
    for service in SERVICES:
        engine = create_engine(stack.database_urls[service])
        try:
            with engine.connect() as conn:
                tables = conn.execute(text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                    "AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'")).scalars().all()
                for table in tables:
                    count = conn.execute(text(f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE ANY(:p)'),
                                         {"p": patterns}).scalar_one()
                    if count:
                        found[f"{service}.{table}"] = count
        finally:
            engine.dispose()
    return found


def stream_traces(stack: Any, needles: list[str]) -> list[str]:
    """The types of the events in the JetStream stream that mention any of the needles (any case)."""
    lowered = [n.lower() for n in needles]
    return [e["type"] for e in EventBus(stack.nats_url).events() if any(n in str(e).lower() for n in lowered)]


def test_a_customer_is_erased_once_nothing_is_live_and_no_database_remembers_them(
    jesh_stack: Any, person: Api, admin: Api, new_unit: Any
) -> None:
    user_id = person.user["id"]
    needles = [person.user["email"], person.user["name"].split()[1], person.user["phone"]]
    unit = new_unit(monthly_price=3000)
    booking = person.book(unit["id"], far_future(600), days=30).json()["data"]
    r = person.post("/api/transport-requests", {
        "booking_id": booking["id"], "pickup_address": f"{person.user['name']}'s flat, Kilimani",
        "delivery_address": "Jesh Storage", "distance": 8, "items_description": "boxes",
        "preferred_time": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
    })
    assert r.status_code == 201, r.text
    assert person.pay(booking["id"], person.user["phone"]).status_code == 200
    person.wait_booking(booking["id"], status="confirmed")
    wait_for(lambda: {"booking_confirmed", "welcome"} <= {
        m["template"] for m in admin.get("/api/notifications", params={"user_id": str(user_id)}).json()["data"]
    }, timeout=20, what="the customer's messages")
    before = traces(jesh_stack, needles)
    assert "UserRegistered" in stream_traces(jesh_stack, needles)
    assert {"auth.users", "notifications.notifications", "payments.payments", "transport.transport_requests"} <= set(
        before), before

    assert admin.post(f"/api/auth/users/{user_id}/erase").status_code == 409  # still open
    assert admin.post(f"/api/auth/users/{user_id}/close").status_code == 200
    live = admin.post(f"/api/auth/users/{user_id}/erase")
    assert live.status_code == 409, live.text
    assert live.json()["message"] == "The customer's personal data cannot be erased yet"
    assert [e["field"] for e in live.json()["errors"]] == ["booking", "transport"]

    assert admin.post(f"/api/bookings/{booking['id']}/cancel").status_code == 200

    def refund() -> dict[str, Any] | None:
        rows = admin.get("/api/payments/refunds").json()["data"]
        return next((x for x in rows if x["booking_id"] == booking["id"]), None)

    required = wait_for(refund, timeout=20, what="the refund")
    owed = admin.post(f"/api/auth/users/{user_id}/erase")
    assert owed.status_code == 409, owed.text
    assert "refund" in [e["field"] for e in owed.json()["errors"]]
    assert admin.post(f"/api/payments/refunds/{required['id']}/approve").status_code == 200
    wait_for(lambda: (x := refund()) and x["status"] == "paid", timeout=20, what="the payout")

    erased = admin.post(f"/api/auth/users/{user_id}/erase")
    assert erased.status_code == 200, erased.text
    assert erased.json()["data"]["name"] == "Erased customer"

    wait_for(lambda: not traces(jesh_stack, needles), timeout=20,
             what=f"every service to forget the person (right after the erasure: {traces(jesh_stack, needles)})")
    wait_for(lambda: not stream_traces(jesh_stack, needles), timeout=20,  # the job runs every 3 s in the tests' stack
             what=f"the stream to forget the person (right after: {stream_traces(jesh_stack, needles)})")
    # The money's records stay, under the account's id.
    paid = refund()
    assert paid is not None and paid["status"] == "paid" and paid["amount"] == 3000 and paid["receipt"]
    assert paid["phone_number"] is None
    status = admin.get(f"/api/payments/status/{booking['id']}").json()["data"]
    assert status["refund"]["amount"] == 3000
    bookings = admin.get("/api/bookings", params={"user_id": str(user_id)}).json()["data"]
    assert [b["id"] for b in bookings] == [booking["id"]]
    walk_in = admin.post("/api/bookings/for-customer", {"user_id": user_id, "unit_id": unit["id"],
                                                        "start_date": far_future(700).isoformat(),
                                                        "end_date": far_future(730).isoformat()})
    assert walk_in.status_code == 404 and walk_in.json()["message"] == "Customer not found"  # nobody to book for
    messages = admin.get("/api/notifications", params={"user_id": str(user_id)}).json()["data"]
    assert messages and {m["template"] for m in messages} >= {"welcome", "booking_confirmed"}
