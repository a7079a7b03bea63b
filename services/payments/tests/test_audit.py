"""An admin approving a refund is in payments' audit log (jeshkit.audit); customers cannot read it."""

from __future__ import annotations

from typing import Any

from jeshstack.testing import wait_for

AUDIT = "/api/payments/admin/audit"
OWNER, ADMIN = 11, 1


def test_an_approved_refund_is_logged_with_the_admin(stack: Any, booking_id: int) -> None:
    client = stack.start()
    stack.booking(booking_id, OWNER)
    stack.pay(client, booking_id, OWNER, phone="0708374149")
    stack.wait_event("PaymentSucceeded", booking_id)
    stack.event_bus.publish("BookingCancelled", {"booking_id": booking_id, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": "2030-01-01", "end_date": "2030-02-01",
                                                 "reason": "admin"})
    admin = stack.keys.headers(ADMIN, "admin")
    [refund] = wait_for(lambda: client.get("/api/payments/refunds", headers=admin).json()["data"],
                        what="the refund")
    assert client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=admin).status_code == 200

    entries = client.get(AUDIT, headers=admin).json()["data"]
    assert [(e["action"], e["target"], e["actor_id"], e["details"]) for e in entries] == [
        ("refund.approved", f"refund:{refund['id']}", ADMIN,
         {"amount": 4500, "method": "mpesa", "booking_id": booking_id}),
    ]
    assert client.get(AUDIT, headers=stack.keys.headers(OWNER)).status_code == 403
