"""Erasure of a customer's personal data (CustomerErased, Kenya's DPA s.40): GET /internal/users/{id}/holds lists
the money that still needs their phone number (payments in flight, refunds not yet paid); the handler removes their
phone numbers and the payer's details of stored callbacks and prompts, and keeps amounts, receipts and statuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from jeshstack.testing import wait_for
from payments.service import finish_erasures

OWNER, STRANGER, ADMIN = 11, 12, 1
PROMPT = "/api/payments/mpesa/prompt"


def holds(client: Any, user_id: int) -> list[dict[str, Any]]:
    r = client.get(f"/internal/users/{user_id}/holds")
    assert r.status_code == 200, r.text
    return list(r.json()["data"]["holds"])


def insert(stack: Any, table: str, **values: Any) -> int:
    """A row written as payments would have written it (states the simulator would take long to reach)."""
    columns = ", ".join(values)
    params = ", ".join(f"CAST(:{k} AS jsonb)" if k in ("payload", "details") else f":{k}" for k in values)
    values = {k: json.dumps(v) if k in ("payload", "details") else v for k, v in values.items()}
    with stack.db.begin() as conn:
        return int(conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params}) RETURNING id"),
                                values).scalar_one())


def payment(stack: Any, user_id: int, booking_id: int, status: str, **extra: Any) -> int:
    values = {"method": "mpesa", "amount": 2500, "phone_number": "254708374149", "push_sent_at": datetime.now(UTC)}
    return insert(stack, "payments", booking_id=booking_id, user_id=user_id, status=status, **{**values, **extra})


def refund(stack: Any, status: str, **extra: Any) -> int:
    values = {"amount": 2500, "reason": "cancelled by an admin", "phone_number": "254708374149"}
    return insert(stack, "refunds", status=status, **{**values, **extra})


def rows(stack: Any, table: str) -> list[dict[str, Any]]:
    with stack.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


def erased(stack: Any, user_id: int) -> str:
    """Publish CustomerErased as auth would; the event's id (wait for it with `applied`)."""
    env = stack.event_bus.publish("CustomerErased", {"user_id": user_id, "erased_at": datetime.now(UTC).isoformat()})
    return str(env["id"])


def applied(stack: Any, event_id: str) -> bool:
    with stack.db.connect() as conn:
        return conn.execute(text("SELECT EXISTS (SELECT FROM inbox WHERE event_id = CAST(:id AS uuid))"),
                            {"id": event_id}).scalar_one()


def test_holds_list_money_in_flight_and_refunds_not_paid(stack: Any) -> None:
    # No workers (no money job, no consumer): the rows below stay exactly as written, the route only reads them.
    client = stack.start(run_workers=False)
    with stack.db.begin() as conn:  # payments' copy of the booking, as BookingCreated would have made it
        conn.execute(text("INSERT INTO bookings (booking_id, user_id, unit_id, total_price, status) "
                          "VALUES (501, :owner, 7, 4500, 'pending')"), {"owner": OWNER})
    pending = payment(stack, OWNER, 501, "pending")
    unknown = payment(stack, OWNER, 502, "unknown", checkout_request_id="ws_CO_unknown")
    queued = payment(stack, OWNER, 503, "pending", invoice_id=77, push_sent_at=None)
    payment(stack, OWNER, 504, "success", receipt="RKT1")
    payment(stack, OWNER, 505, "failed")
    required = refund(stack, "required", user_id=OWNER, booking_id=504)
    failed = refund(stack, "failed", user_id=OWNER, booking_id=504, failure_reason="M-PESA did not take it")
    paying = refund(stack, "paying", user_id=OWNER, booking_id=505, amount=1200)
    approved = refund(stack, "approved", user_id=OWNER, booking_id=507, approved_by=ADMIN)
    refund(stack, "paid", user_id=OWNER, booking_id=506, receipt="RKR1")
    unmatched = refund(stack, "required", booking_id=501, reason="money that matched no payment")  # no user_id
    # Somebody else's money, and a settled customer.
    payment(stack, STRANGER, 601, "pending")
    refund(stack, "required", user_id=STRANGER, booking_id=601)
    settled = STRANGER + 1
    payment(stack, settled, 701, "success", receipt="RKT2")
    refund(stack, "paid", user_id=settled, booking_id=701, receipt="RKR2")

    assert holds(client, OWNER) == [
        {"kind": "payment", "id": pending, "detail": f"payment {pending} of KES 2,500 by M-PESA is pending: its "
                                                     "result is not known yet"},
        {"kind": "payment", "id": unknown, "detail": f"payment {unknown} of KES 2,500 by M-PESA got no final "
                                                     "answer from its provider: an admin must settle it"},
        {"kind": "payment", "id": queued, "detail": f"payment {queued} of KES 2,500 by M-PESA is queued (autopay), "
                                                    "not sent yet"},
        {"kind": "refund", "id": required, "detail": f"refund {required} of KES 2,500 is required, not yet paid"},
        {"kind": "refund", "id": failed, "detail": f"refund {failed} of KES 2,500 is failed, not yet paid"},
        {"kind": "refund", "id": paying, "detail": f"refund {paying} of KES 1,200 is paying, not yet paid"},
        {"kind": "refund", "id": approved, "detail": f"refund {approved} of KES 2,500 is approved, not yet paid"},
        {"kind": "refund", "id": unmatched, "detail": f"refund {unmatched} of KES 2,500 is required, not yet paid"},
    ]
    assert holds(client, settled) == []
    assert holds(client, 987654) == []  # unknown here: none, never 404


def test_erasure_removes_the_customer_s_phone_numbers_and_keeps_the_money(stack: Any, booking_id: int) -> None:
    client = stack.start()
    admin = stack.keys.headers(ADMIN, "admin")
    # A payment an operator prompted for, refunded and paid back (real simulator, B2C included).
    stack.booking(booking_id, OWNER)
    r = client.post(PROMPT, json={"booking_id": booking_id, "phone_number": "0708374149"}, headers=admin)
    assert r.status_code == 200, r.text
    started = r.json()["data"]
    stack.wait_event("PaymentSucceeded", booking_id)
    callback = stack.sim.settled_callback(started["CheckoutRequestID"])
    stack.event_bus.publish("BookingCancelled", {"booking_id": booking_id, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": "2030-01-01", "end_date": "2030-02-01",
                                                 "reason": "admin"})
    [paid] = wait_for(lambda: stack.admin_get(client, "/api/payments/refunds"), what="the refund")
    assert client.post(f"/api/payments/refunds/{paid['id']}/approve", headers=admin).status_code == 200
    stack.wait_event("RefundPaid", booking_id)
    # Its callback kept as unmatched before Daraja's answer came (then tied to it), and money the booking could not
    # take; a refund still owed and a push still pending; and a stranger's payment, prompt and callback.
    paid_id = started["payment_id"]
    insert(stack, "unmatched", source="stk_callback", reference=started["CheckoutRequestID"], amount=4500,
           phone_number="254708374149", result_code=0, reason="no payment has this CheckoutRequestID",
           payment_id=paid_id, payload=callback)
    insert(stack, "unmatched", source="booking_unavailable", amount=4500, phone_number="254708374149", result_code=0,
           reason="the booking could not take this payment (dates_taken)", payment_id=paid_id, booking_id=booking_id)
    owed = refund(stack, "failed", user_id=OWNER, booking_id=booking_id + 1)
    pending = payment(stack, OWNER, booking_id + 1, "pending")
    theirs = payment(stack, STRANGER, booking_id + 2, "success", receipt="RKT9", phone_number="254711000111")
    insert(stack, "audit_log", actor_id=ADMIN, actor_role="admin", action="payment.prompted",
           target=f"payment:{theirs}", details={"user_id": STRANGER, "amount": 2500, "phone_number": "254711000111"})
    insert(stack, "unmatched", source="stk_callback", reference="ws_CO_theirs", amount=2500, result_code=0,
           phone_number="254711000111", reason="no payment has this CheckoutRequestID", payment_id=theirs,
           payload=callback)
    tables = ("payments", "refunds", "unmatched", "audit_log")
    before = {table: rows(stack, table) for table in tables}

    first = erased(stack, OWNER)
    wait_for(lambda: applied(stack, first), what="CustomerErased applied")
    after = {table: rows(stack, table) for table in tables}

    def by_id(table: str, row_id: int) -> dict[str, Any]:
        return next(r for r in after[table] if r["id"] == row_id)

    settled = by_id("payments", paid_id)
    assert settled["phone_number"] is None
    assert (settled["amount"], settled["status"], settled["receipt"]) == (4500, "success", callback_receipt(callback))
    refunded = by_id("refunds", paid["id"])
    assert refunded["phone_number"] is None and refunded["status"] == "paid" and refunded["receipt"]
    assert refunded["amount"] == 4500 and refunded["paid_at"] is not None
    [kept_callback, unavailable, their_callback] = after["unmatched"]
    assert kept_callback["phone_number"] is None and unavailable["phone_number"] is None
    assert "PhoneNumber" not in json.dumps(kept_callback["payload"])
    assert kept_callback["payload"] == without_phone(callback)  # amount, receipt, date, result kept
    assert kept_callback["amount"] == 4500 and kept_callback["result_code"] == 0
    [prompt, their_prompt] = [e for e in after["audit_log"] if e["action"] == "payment.prompted"]
    assert prompt["details"] == {"booking_id": booking_id, "invoice_id": None, "user_id": OWNER, "amount": 4500}
    # Money in flight keeps what it needs to finish; the stranger's rows are untouched.
    assert by_id("refunds", owed)["phone_number"] == "254708374149"
    assert by_id("payments", pending)["phone_number"] == "254708374149"
    assert by_id("payments", theirs) == next(r for r in before["payments"] if r["id"] == theirs)
    assert their_callback == before["unmatched"][2] and their_prompt["details"]["phone_number"] == "254711000111"
    # Nothing else changed: only the personal columns differ.
    for table in tables:
        assert [strip(r) for r in after[table]] == [strip(r) for r in before[table]], table

    second = erased(stack, OWNER)  # a second erasure (another event) changes nothing
    wait_for(lambda: applied(stack, second), what="the second CustomerErased applied")
    assert {table: rows(stack, table) for table in tables} == after
    assert holds(client, OWNER) == [
        {"kind": "payment", "id": pending, "detail": f"payment {pending} of KES 2,500 by M-PESA is pending: its "
                                                     "result is not known yet"},
        {"kind": "refund", "id": owed, "detail": f"refund {owed} of KES 2,500 is failed, not yet paid"},
    ]


def callback_receipt(callback: dict[str, Any]) -> str:
    items = callback["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    return str(next(i["Value"] for i in items if i["Name"] == "MpesaReceiptNumber"))


def without_phone(callback: dict[str, Any]) -> dict[str, Any]:
    scrubbed = json.loads(json.dumps(callback))
    metadata = scrubbed["Body"]["stkCallback"]["CallbackMetadata"]
    metadata["Item"] = [i for i in metadata["Item"] if i["Name"] != "PhoneNumber"]
    return dict(scrubbed)


def strip(row: dict[str, Any]) -> dict[str, Any]:
    """A row without what erasure may change (and the timestamps an UPDATE moves)."""
    gone = ("phone_number", "payload", "details", "updated_at")
    return {k: v for k, v in row.items() if k not in gone}


def test_money_in_flight_keeps_its_phone_only_until_it_settles(stack: Any) -> None:
    stack.start()
    pending = payment(stack, OWNER, 801, "pending", checkout_request_id="ws_CO_in_flight")
    settled = payment(stack, OWNER, 802, "success", receipt="RKS1")
    theirs = payment(stack, STRANGER, 803, "pending", checkout_request_id="ws_CO_theirs")
    factory = sessionmaker(stack.db)
    assert finish_erasures(factory) == 0  # nobody waits

    event = erased(stack, OWNER)
    wait_for(lambda: applied(stack, event), what="CustomerErased applied")
    phones = {r["id"]: r["phone_number"] for r in rows(stack, "payments")}
    assert phones[settled] is None and phones[pending] == "254708374149"  # the prompt may still be answered
    assert [r["user_id"] for r in rows_by_key(stack, "erased_customers")] == [OWNER]
    assert finish_erasures(factory) == 0  # still in flight: nothing changes
    assert {r["id"]: r["phone_number"] for r in rows(stack, "payments")}[pending] == "254708374149"

    with stack.db.begin() as conn:  # the money settles
        conn.execute(text("UPDATE payments SET status = 'success', receipt = 'RKS2' WHERE id = :id"), {"id": pending})
    # The service's own job (every minute, SKIP LOCKED) may hold the row at this moment, or have finished it first.
    wait_for(lambda: finish_erasures(factory) == 1 or rows_by_key(stack, "erased_customers") == [],
             what="the erasure finished once the money settled")
    phones = {r["id"]: r["phone_number"] for r in rows(stack, "payments")}
    assert phones[pending] is None and phones[theirs] == "254708374149"  # somebody else's stays
    assert rows_by_key(stack, "erased_customers") == [] and finish_erasures(factory) == 0


def rows_by_key(stack: Any, table: str) -> list[dict[str, Any]]:
    with stack.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {table}"))]
