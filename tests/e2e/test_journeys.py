"""Customers' and staff's journeys through the real gateway, services, PostgreSQL, NATS and simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jeshstack.testing import wait_for
from tests.e2e.api import Api, far_future

pytestmark = pytest.mark.e2e

PAYS = "0712345678"  # the simulator's default outcome: success
CANCELS = "0712341032"  # ResultCode 1032: cancelled by the user


def test_register_browse_book_pay_confirms_booking_and_books_the_unit(customer: Api, new_unit: Any) -> None:
    unit = new_unit(monthly_price=4500)
    listing = customer.get("/api/units").json()
    assert listing["success"] is True
    assert unit["id"] in [u["id"] for u in listing["data"]]
    assert customer.unit(unit["id"])["status"] == "available"

    r = customer.book(unit["id"], far_future(), days=45)
    assert r.status_code == 201, r.text
    booking = r.json()["data"]
    assert booking["status"] == "pending" and booking["payment_status"] == "pending"
    assert booking["total_price"] == 6750  # ceil(4500 * 45 / 30), computed by the server

    r = customer.pay(booking["id"], PAYS)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["CheckoutRequestID"]

    confirmed = customer.wait_booking(booking["id"], status="confirmed", payment_status="success")
    assert confirmed["total_price"] == 6750
    wait_for(lambda: customer.unit(unit["id"])["status"] == "booked", timeout=10, what="the unit to be booked")
    status = customer.get(f"/api/payments/status/{booking['id']}").json()["data"]
    assert status["status"] == "success" and status["amount"] == 6750 and status["transaction_code"]


def test_cancelled_payment_can_be_retried_and_then_confirms(customer: Api, new_unit: Any) -> None:
    unit = new_unit()
    booking = customer.book(unit["id"], far_future(10), days=30).json()["data"]

    assert customer.pay(booking["id"], CANCELS).status_code == 200
    failed = customer.wait_booking(booking["id"], payment_status="failed")
    assert failed["status"] == "pending"  # still held: the customer may try again
    assert customer.get(f"/api/payments/status/{booking['id']}").json()["data"]["status"] == "failed"

    r = customer.pay(booking["id"], PAYS)
    assert r.status_code == 200, r.text
    customer.wait_booking(booking["id"], status="confirmed", payment_status="success")


def test_unpaid_hold_expires_and_the_dates_are_bookable_again(
    customer: Api, new_unit: Any, jesh_stack: Any
) -> None:
    unit = new_unit()
    start = far_future(20)
    booking = customer.book(unit["id"], start, days=10).json()["data"]
    hold_expires_at = datetime.fromisoformat(booking["hold_expires_at"])
    assert hold_expires_at > datetime.now(UTC)
    taken = [{"start_date": booking["start_date"], "end_date": booking["end_date"]}]
    # Inventory learns of the booking from its event, moments later.
    wait_for(lambda: customer.get(f"/api/units/{unit['id']}/availability").json()["data"] == taken,
             timeout=10, what="inventory to show the held dates")

    hold = float(jesh_stack.config.env["BOOKING_HOLD_SECONDS"])
    customer.wait_booking(booking["id"], timeout=hold + 15, status="cancelled")
    wait_for(lambda: customer.get(f"/api/units/{unit['id']}/availability").json()["data"] == [],
             timeout=10, what="the dates to be released")
    r = customer.book(unit["id"], start, days=10)
    assert r.status_code == 201, r.text


def test_cancelling_a_booking_cancels_its_open_transport_request(customer: Api, new_unit: Any) -> None:
    unit = new_unit()
    booking = customer.book(unit["id"], far_future(40), days=30).json()["data"]
    r = customer.post("/api/transport-requests", {
        "booking_id": booking["id"], "pickup_address": "Kilimani, Nairobi", "delivery_address": "Jesh Storage",
        "distance": 12.5, "preferred_time": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        "items_description": "Sofa, two boxes", "estimated_cost": 1,
    })
    assert r.status_code == 201, r.text
    request = r.json()["data"]
    assert request["status"] == "requested"
    assert request["estimated_cost"] == 1000 + 1250  # base fee + ceil(12.5 * 100), not the client's 1

    cancelled = customer.post(f"/api/bookings/{booking['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["status"] == "cancelled"
    # The dates are free at once for booking; inventory's availability view follows within moments.
    wait_for(lambda: customer.get(f"/api/units/{unit['id']}/availability").json()["data"] == [],
             timeout=10, what="inventory to release the dates")
    rebooked = customer.book(unit["id"], far_future(40), days=30)
    assert rebooked.status_code == 201, rebooked.text

    def transport_status() -> str:
        rows = customer.get(f"/api/transport-requests/{customer.user['id']}").json()["data"]
        return str(next(t for t in rows if t["id"] == request["id"])["status"])

    wait_for(lambda: transport_status() == "cancelled", timeout=15, what="the transport request to be cancelled")


def known_to_booking(customer: Api, unit: dict[str, Any]) -> None:
    """Booking has its copy of the unit (a booking made and cancelled): a change now reaches it by UnitUpdated only."""
    r = customer.book(unit["id"], far_future(900), days=1)
    assert r.status_code == 201, r.text
    assert customer.post(f"/api/bookings/{r.json()['data']['id']}/cancel").status_code == 200


def test_a_unit_in_maintenance_cannot_be_booked(customer: Api, admin: Api, new_unit: Any) -> None:
    unit = new_unit()
    known_to_booking(customer, unit)
    r = admin.put(f"/api/units/{unit['id']}", {"status": "maintenance"})
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "Unit updated"
    assert r.json()["data"]["status"] == "maintenance"

    # At once: the booking follows inventory, not its copy that UnitUpdated has not reached yet.
    r = customer.book(unit["id"], far_future(60), days=5)
    assert r.status_code == 400, r.text
    assert r.json() == {"success": False, "message": "Unit not available"}
    assert customer.put(f"/api/units/{unit['id']}", {"status": "available"}).status_code == 403


def test_a_new_price_counts_for_the_next_booking_at_once(customer: Api, admin: Api, new_unit: Any) -> None:
    unit = new_unit(monthly_price=3000)
    known_to_booking(customer, unit)
    assert admin.put(f"/api/units/{unit['id']}", {"monthly_price": 4500}).status_code == 200
    r = customer.book(unit["id"], far_future(70), days=30)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["total_price"] == 4500
    assert admin.put(f"/api/units/{unit['id']}", {"status": "maintenance"}).status_code == 200
    assert customer.book(unit["id"], far_future(110), days=5).status_code == 400
    assert admin.put(f"/api/units/{unit['id']}", {"status": "available", "monthly_price": 1500}).status_code == 200
    r = customer.post("/api/bookings", {"unit_id": unit["id"], "start_date": far_future(120).isoformat(),
                                        "plan": "monthly"})
    assert r.status_code == 201, r.text
    assert (r.json()["data"]["monthly_rate"], r.json()["data"]["total_price"]) == (1500, 1500)


def test_the_unit_shows_a_booking_and_its_cancellation_at_once(customer: Api, new_unit: Any) -> None:
    """Inventory is told by booking right after its commit, not only by the events a moment later."""
    for offset in (300, 330, 360):  # a few rounds: the events alone were late in about a third of them
        unit = new_unit()
        start = far_future(offset)
        r = customer.book(unit["id"], start, days=10)
        assert r.status_code == 201, r.text
        taken = [{"start_date": start.isoformat(), "end_date": (start + timedelta(days=10)).isoformat()}]
        assert customer.unit(unit["id"])["status"] == "booked"
        assert customer.get(f"/api/units/{unit['id']}/availability").json()["data"] == taken
        free = customer.get("/api/units", params={"available_from": start.isoformat(),
                                                  "available_to": (start + timedelta(days=1)).isoformat()})
        assert unit["id"] not in [u["id"] for u in free.json()["data"]]

        assert customer.post(f"/api/bookings/{r.json()['data']['id']}/cancel").status_code == 200
        assert customer.unit(unit["id"])["status"] == "available"
        assert customer.get(f"/api/units/{unit['id']}/availability").json()["data"] == []


def test_another_customers_bookings_are_forbidden(customer: Api, gateway: str) -> None:
    other = Api(gateway)
    r = other.post("/api/auth/register", {"email": f"other-{customer.user['id']}@example.co.ke",
                                          "phone": "0798765432", "name": "Other", "password": "password123"})
    other.token = r.json()["token"]
    try:
        r = other.get(f"/api/bookings/{customer.user['id']}")
        assert r.status_code == 403
        assert r.json() == {"success": False, "message": "Unauthorized"}
    finally:
        other.close()


def test_an_operator_sends_the_mpesa_prompt_to_a_customer_who_pays_with_their_pin(
    customer: Api, admin: Api, new_unit: Any
) -> None:
    """A customer who booked on the web calls the desk: the operator sends the prompt to their phone; the money and
    the receipt are the customer's."""
    unit = new_unit(monthly_price=3000)
    booking = customer.book(unit["id"], far_future(230), days=30).json()["data"]
    assert customer.post("/api/payments/mpesa/prompt", {"booking_id": booking["id"], "phone_number": PAYS}
                         ).status_code == 403  # the customer has their own route
    r = admin.post("/api/payments/mpesa/prompt", {"booking_id": booking["id"], "phone_number": PAYS})
    assert r.status_code == 200, r.text
    confirmed = customer.wait_booking(booking["id"], status="confirmed", payment_status="success")
    assert confirmed["total_price"] == 3000
    status = customer.get(f"/api/payments/status/{booking['id']}").json()["data"]
    assert status["status"] == "success" and status["amount"] == 3000
    entries = admin.get("/api/payments/admin/audit").json()["data"]
    assert any(e["action"] == "payment.prompted" and e["details"]["booking_id"] == booking["id"] for e in entries)


def test_a_walk_in_customer_is_booked_at_the_desk_and_pays_by_the_operators_prompt(
    customer: Api, admin: Api, new_unit: Any
) -> None:
    unit = new_unit(monthly_price=2400)
    start = far_future(260).isoformat()
    r = admin.post("/api/bookings/for-customer", {"user_id": customer.user["id"], "unit_id": unit["id"],
                                                  "start_date": start, "plan": "monthly"})
    assert r.status_code == 201, r.text
    booking = r.json()["data"]
    assert booking["user_id"] == customer.user["id"] and booking["total_price"] == 2400
    assert customer.post("/api/bookings/for-customer", {"user_id": customer.user["id"], "unit_id": unit["id"],
                                                        "start_date": start}).status_code == 403
    assert admin.post("/api/payments/mpesa/prompt", {"booking_id": booking["id"], "phone_number": PAYS}
                      ).status_code == 200
    confirmed = customer.wait_booking(booking["id"], status="confirmed", payment_status="success")
    assert confirmed["plan"] == "monthly"
