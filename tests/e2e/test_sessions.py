"""Ended sessions through the gateway: when an operator signs a customer out everywhere, or the customer changes
their password, every service (each replica) refuses the access tokens issued before, though they have not expired;
the new session works everywhere."""

from __future__ import annotations

from jeshstack.testing import wait_for
from tests.e2e.api import Api

# A customer's route of each service that verifies tokens itself (inventory's are public or admin only); each is
# asked several times, so both replicas of booking answer.
ROUTES = ["/api/auth/profile", "/api/bookings", "/api/transport-requests", "/api/invoices", "/api/notifications"]
ENDED = {"success": False, "message": "Session ended; please log in again"}


def answers(api: Api, path: str) -> set[int]:
    return {api.get(path).status_code for _ in range(4)}


def test_an_operator_signing_a_customer_out_ends_their_access_tokens_in_every_service(
    customer: Api, admin: Api, gateway: str
) -> None:
    assert all(answers(customer, p) == {200} for p in ROUTES)
    old_token = customer.token

    r = admin.post(f"/api/auth/users/{customer.user['id']}/sign-out")
    assert r.status_code == 200, r.text

    for path in ROUTES:
        wait_for(lambda path=path: answers(customer, path) == {401}, timeout=15, what=f"{path} refusing the token")
    assert customer.get("/api/bookings").json() == ENDED
    # Logging in again gives a session every service accepts.
    r = customer.post("/api/auth/login", {"email": customer.user["email"], "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    customer.token = r.json()["token"]
    assert all(answers(customer, p) == {200} for p in ROUTES)
    assert Api(gateway, old_token).get("/api/notifications").status_code == 401


def test_a_password_change_keeps_this_session_and_ends_the_others_everywhere(customer: Api, gateway: str) -> None:
    other_device = Api(gateway, customer.token)
    r = customer.post("/api/auth/password", {"current_password": "correct horse battery",
                                             "new_password": "a brand new passphrase"})
    assert r.status_code == 200, r.text
    customer.token = r.json()["token"]

    wait_for(lambda: answers(other_device, "/api/bookings") == {401}, timeout=15, what="the old token refused")
    assert answers(other_device, "/api/invoices") == {401}
    assert all(answers(customer, p) == {200} for p in ("/api/bookings", "/api/invoices", "/api/auth/profile"))
    other_device.close()


def test_a_demoted_operator_is_refused_by_every_service_at_once(customer: Api, admin: Api) -> None:
    user_id = customer.user["id"]
    assert admin.patch(f"/api/auth/users/{user_id}", {"role": "admin"}).status_code == 200
    r = customer.post("/api/auth/login", {"email": customer.user["email"], "password": "correct horse battery"})
    customer.token = r.json()["token"]
    admin_routes = ["/api/payments/refunds", "/api/payments/unmatched", "/api/billing/reports/rent-roll",
                    "/api/auth/users", "/api/bookings?user_id=1"]
    assert all(answers(customer, p) == {200} for p in admin_routes)

    assert admin.patch(f"/api/auth/users/{user_id}", {"role": "user"}).status_code == 200

    for path in admin_routes:
        wait_for(lambda path=path: answers(customer, path) == {401}, timeout=15, what=f"{path} refusing the token")
