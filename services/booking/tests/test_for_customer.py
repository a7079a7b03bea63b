"""POST /api/bookings/for-customer (admin): an operator books a unit for a customer at the desk; the booking is the
customer's, under POST /api/bookings's rules, and the act is audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer

CUSTOMER, ADMIN, STRANGER, CLOSED = 42, 1, 43, 44
PATH = "/api/bookings/for-customer"


@pytest.fixture
def auth_users() -> Iterator[str]:
    """auth's GET /internal/users/{id}: knows the customer, and an account an operator closed."""
    app = FastAPI()

    @app.get("/internal/users/{user_id}")
    def user(user_id: int) -> JSONResponse:
        if user_id not in (CUSTOMER, CLOSED):
            return JSONResponse({"success": False, "message": "User not found"}, status_code=404)
        return JSONResponse({"success": True, "data": {"user_id": user_id, "email": f"u{user_id}@example.co.ke",
                                                       "name": "Wanjiku Kamau", "role": "user",
                                                       "phone": "254712345678", "closed": user_id == CLOSED}})

    server = LiveServer(app, free_port())
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_an_operator_books_for_a_customer_who_owns_the_booking(start_booking, kit, signing_keys, day, auth_users):
    client = start_booking(auth_url=auth_users)
    kit.seed_unit(7, monthly_price=3000)
    admin = signing_keys.headers(ADMIN, "admin")

    r = client.post(PATH, json={"user_id": CUSTOMER, "unit_id": 7, "start_date": day(1), "end_date": day(31),
                                "total_price": 1}, headers=admin)

    assert r.status_code == 201, r.text
    booking = r.json()["data"]
    assert (booking["user_id"], booking["total_price"], booking["status"]) == (CUSTOMER, 3000, "pending")
    [event] = kit.wait_events("BookingCreated", booking_id=booking["id"])
    assert event["user_id"] == CUSTOMER  # the hold reminder, the payment and the receipts are the customer's
    mine = client.get("/api/bookings", headers=signing_keys.headers(CUSTOMER)).json()["data"]
    assert [b["id"] for b in mine] == [booking["id"]]
    [entry] = client.get("/api/bookings/admin/audit", headers=admin).json()["data"]
    assert (entry["action"], entry["target"], entry["actor_id"]) == (
        "booking.created_for_customer", f"booking:{booking['id']}", ADMIN)
    assert entry["details"]["user_id"] == CUSTOMER and entry["details"]["total_price"] == 3000

    # The same rules as any booking: the dates are taken now.
    again = client.post(PATH, json={"user_id": CUSTOMER, "unit_id": 7, "start_date": day(5), "end_date": day(9)},
                        headers=admin)
    assert again.status_code == 400 and again.json()["message"] == "Unit not available"
    monthly = client.post(PATH, json={"user_id": CUSTOMER, "unit_id": 7, "start_date": day(40), "plan": "monthly"},
                          headers=admin)
    assert monthly.status_code == 201 and monthly.json()["data"]["plan"] == "monthly", monthly.text


def test_only_an_admin_books_for_someone_and_only_for_an_account_auth_knows(
    start_booking, kit, signing_keys, day, auth_users
):
    client = start_booking(auth_url=auth_users)
    kit.seed_unit(8)
    body = {"user_id": CUSTOMER, "unit_id": 8, "start_date": day(1), "end_date": day(10)}
    assert client.post(PATH, json=body).status_code == 401
    refused = client.post(PATH, json=body, headers=signing_keys.headers(STRANGER))
    assert refused.status_code == 403 and refused.json()["message"] == "Unauthorized"
    unknown = client.post(PATH, json={**body, "user_id": 999}, headers=signing_keys.headers(ADMIN, "admin"))
    assert unknown.status_code == 404 and unknown.json()["message"] == "Customer not found"
    closed = client.post(PATH, json={**body, "user_id": CLOSED}, headers=signing_keys.headers(ADMIN, "admin"))
    assert closed.status_code == 409 and closed.json()["message"] == "Customer account is closed", closed.text
    for bad in ({**body, "user_id": True}, {**body, "user_id": 0}, {k: v for k, v in body.items() if k != "user_id"}):
        r = client.post(PATH, json=bad, headers=signing_keys.headers(ADMIN, "admin"))
        assert r.status_code == 400 and r.json()["errors"][0]["field"].endswith("user_id"), r.text
    assert kit.events("BookingCreated") == [] or all(e["unit_id"] != 8 for e in kit.events("BookingCreated"))


def test_auth_unreachable_is_503_and_books_nothing(start_booking, kit, signing_keys, day):
    client = start_booking(auth_url=f"http://127.0.0.1:{free_port()}")
    kit.seed_unit(9)
    r = client.post(PATH, json={"user_id": CUSTOMER, "unit_id": 9, "start_date": day(1), "end_date": day(10)},
                    headers=signing_keys.headers(ADMIN, "admin"))
    assert r.status_code == 503 and r.json()["message"] == "The auth service is unavailable, please retry"
    assert client.get("/api/bookings", params={"unit_id": 9},
                      headers=signing_keys.headers(ADMIN, "admin")).json()["data"] == []
