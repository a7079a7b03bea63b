"""Cash at the desk: an operator records cash for a booking or an invoice; it is a payment like any other (once,
whatever the retries), its refund is handed back at the desk, and the day's cash book adds up."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import httpx

from jeshstack.testing import wait_for

OWNER, ADMIN = 31, 1


def take(stack: Any, client: httpx.Client, account: str, amount: Any, key: str | None = None,
         **extra: Any) -> httpx.Response:
    headers = stack.keys.headers(ADMIN, "admin") | ({"Idempotency-Key": key} if key else {})
    return client.post("/api/payments/cash", json={"account": account, "amount": amount, **extra}, headers=headers)


def test_cash_pays_a_bookings_exact_price_once_whatever_the_retries(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    client = stack.start(billing_url=billing["url"])
    stack.booking(booking_id, OWNER, total_price=4500)

    r = take(stack, client, f"JESH-{booking_id}", 4000, key="form-1")
    assert r.status_code == 409, r.text
    assert r.json()["message"] == (f"That account cannot take this money: booking JESH-{booking_id} costs KES 4500, "
                                   "KES 4000 was paid")
    assert stack.payments(booking_id) == []

    r = take(stack, client, f" jesh {booking_id} ", 4500, key="form-2", note="  book 7, slip 0042 ")
    assert r.status_code == 201, r.text
    paid = r.json()["data"]
    assert (paid["method"], paid["status"], paid["amount"], paid["booking_id"]) == ("cash", "success", 4500,
                                                                                    booking_id)
    assert re.fullmatch(r"CASH-\d{6}", paid["receipt"]) and paid["phone_number"] is None
    event = stack.wait_event("PaymentSucceeded", booking_id)
    assert (event["method"], event["receipt"], event["amount"], event["user_id"]) == ("cash", paid["receipt"], 4500,
                                                                                      OWNER)

    # The form sent again (a double click, a retry after a lost answer): the same payment, nothing recorded twice.
    again = take(stack, client, f"JESH-{booking_id}", 4500, key="form-2")
    assert again.status_code == 200 and again.json()["data"]["id"] == paid["id"]
    r = take(stack, client, f"JESH-{booking_id}", 4400, key="form-2")
    assert r.status_code == 409 and r.json()["message"] == "That Idempotency-Key was used for another cash payment"
    assert [p["id"] for p in stack.payments(booking_id)] == [paid["id"]]
    assert len(stack.outbox("PaymentSucceeded", booking_id)) == 1

    [entry] = [e for e in stack.admin_get(client, "/api/payments/admin/audit") if e["action"] == "cash.received"]
    assert entry["actor_id"] == ADMIN and entry["target"] == f"payment:{paid['id']}"
    assert entry["details"] == {"account": f"JESH-{booking_id}", "amount": 4500, "receipt": paid["receipt"],
                                "note": "book 7, slip 0042"}

    book = stack.admin_get(client, "/api/payments/cash")
    [line] = book["received"]
    assert (line["receipt"], line["account"], line["amount"], line["received_by"], line["note"]) == (
        paid["receipt"], f"JESH-{booking_id}", 4500, ADMIN, "book 7, slip 0042")
    assert (book["received_total"], book["paid_back_total"], book["net"]) == (4500, 0, 4500)

    # The desk's receipts run in a row, like a paper receipt book, whatever M-PESA payments come between them.
    stack.booking(booking_id + 1, OWNER, total_price=1000)
    stack.booking(booking_id + 2, OWNER, total_price=2000)
    assert stack.initiate(client, booking_id + 1, OWNER).status_code == 200
    r = take(stack, client, f"JESH-{booking_id + 2}", 2000)
    assert r.status_code == 201, r.text
    nxt = r.json()["data"]
    assert int(nxt["receipt"].removeprefix("CASH-")) == int(paid["receipt"].removeprefix("CASH-")) + 1, nxt
    assert nxt["id"] == paid["id"] + 2  # the M-PESA payment took the id between them


def test_cash_is_refused_for_what_it_cannot_pay_and_bad_input_changes_nothing(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    client = stack.start(billing_url=billing["url"])
    stack.booking(booking_id, OWNER, total_price=4500)
    cancelled = booking_id + 1
    stack.booking(cancelled, OWNER, total_price=4500)
    stack.event_bus.publish("BookingCancelled", {"booking_id": cancelled, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": "2030-01-01", "end_date": "2030-02-01",
                                                 "reason": "expired"})
    wait_for(lambda: stack.booking_row(cancelled)["status"] == "cancelled", what="the cancellation")

    refused = {
        f"JESH-{cancelled}": f"booking JESH-{cancelled} was cancelled; book again",
        "INV-000999": "there is no invoice INV-000999",
        "rent for May": "the account number 'rent for May' names no booking or invoice",
    }
    for account, reason in refused.items():
        r = take(stack, client, account, 4500)
        assert r.status_code == 409 and r.json()["message"] == f"That account cannot take this money: {reason}", r.text
    for body in ({"amount": 0}, {"amount": True}, {"amount": 45.5}, {"amount": 1_000_001}, {"account": ""},
                 {"account": "J" * 41}, {"note": "n" * 201}):
        r = client.post("/api/payments/cash", json={"account": f"JESH-{booking_id}", "amount": 4500, **body},
                        headers=stack.keys.headers(ADMIN, "admin"))
        assert r.status_code == 400 and r.json()["success"] is False, (body, r.text)
    r = take(stack, client, f"JESH-{booking_id}", 4500, key="bad key with spaces")
    assert r.status_code == 400, r.text
    assert client.post("/api/payments/cash", json={"account": f"JESH-{booking_id}", "amount": 4500},
                       headers=stack.keys.headers(OWNER)).status_code == 403
    assert client.get("/api/payments/cash", headers=stack.keys.headers(OWNER)).status_code == 403
    r = client.get("/api/payments/cash?day=2026-13-01", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 400 and r.json()["success"] is False

    # An M-PESA prompt still waiting for the customer: taking cash too would pay the booking twice.
    stack.sim.daraja.hold_phone("254708374149")
    assert stack.initiate(client, booking_id, OWNER, phone="0708374149").status_code == 200
    r = take(stack, client, f"JESH-{booking_id}", 4500)
    assert r.status_code == 409 and "still under way" in r.json()["message"], r.text
    assert [p["method"] for p in stack.payments(booking_id)] == ["mpesa"]
    assert stack.payments(cancelled) == [] and stack.outbox("PaymentSucceeded") == []


def test_cash_pays_an_invoice_any_amount_and_its_refund_is_handed_back_at_the_desk(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    billing["accounts"]["INV-000123"] = {"id": 123, "number": "INV-000123", "booking_id": booking_id,
                                         "user_id": OWNER, "total": 3000, "balance": 3000, "status": "open"}
    client = stack.start(billing_url=billing["url"])
    r = take(stack, client, "inv 123", 1000, key="inv-form")
    assert r.status_code == 201, r.text
    event = stack.wait_event("PaymentSucceeded", booking_id)
    assert (event["invoice_id"], event["amount"], event["method"]) == (123, 1000, "cash")

    stack.booking(booking_id + 1, OWNER, total_price=2500)
    r = take(stack, client, f"JESH-{booking_id + 1}", 2500)
    assert r.status_code == 201, r.text
    stack.event_bus.publish("BookingCancelled", {"booking_id": booking_id + 1, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": "2030-01-01", "end_date": "2030-02-01",
                                                 "reason": "admin"})
    [refund] = wait_for(lambda: stack.admin_get(client, "/api/payments/refunds"), what="the refund")
    assert (refund["method"], refund["amount"], refund["status"]) == ("cash", 2500, "required")
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200, r.text
    assert (r.json()["data"]["status"], r.json()["data"]["receipt"]) == ("paid", f"CASH-R{refund['id']}")
    paid = stack.wait_event("RefundPaid", booking_id + 1)
    assert (paid["method"], paid["receipt"], paid["amount"]) == ("cash", f"CASH-R{refund['id']}", 2500)
    assert stack.sim.daraja.stats["b2c_requests"] == 0  # handed back at the desk, not by M-PESA
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 409  # once

    book = stack.admin_get(client, "/api/payments/cash")
    assert [line["amount"] for line in book["received"]] == [2500, 1000]
    assert [line["account"] for line in book["received"]] == [f"JESH-{booking_id + 1}", "INV-000123"]
    assert [(b["refund_id"], b["amount"], b["paid_by"]) for b in book["paid_back"]] == [(refund["id"], 2500, ADMIN)]
    assert (book["received_total"], book["paid_back_total"], book["net"]) == (3500, 2500, 1000)
    assert stack.admin_get(client, "/api/payments/cash?day=2020-01-01")["received"] == []
    for day in ("9999-12-31", "0001-01-01"):  # the first and last days there are: an empty book, not an error
        assert stack.admin_get(client, f"/api/payments/cash?day={day}")["net"] == 0


def count(stack: Any, client: httpx.Client, body: dict[str, Any], user: int = ADMIN,
          role: str = "admin") -> httpx.Response:
    return client.post("/api/payments/cash/counts", json=body, headers=stack.keys.headers(user, role))


def test_the_drawer_is_counted_against_the_cash_book_and_recounted(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    client = stack.start(billing_url=billing["url"])
    stack.booking(booking_id, OWNER, total_price=4500)
    assert take(stack, client, f"JESH-{booking_id}", 4500).status_code == 201

    r = count(stack, client, {"counted": 4300, "note": " two of us counted "})
    assert r.status_code == 201, r.text
    short = r.json()["data"]
    assert (short["counted"], short["expected"], short["difference"], short["counted_by"], short["note"]) == (
        4300, 4500, -200, ADMIN, "two of us counted")
    r = count(stack, client, {"counted": 4500})  # found the missing notes: counted again
    recount = r.json()["data"]
    assert r.status_code == 201 and (recount["expected"], recount["difference"]) == (4500, 0), r.text

    book = stack.admin_get(client, "/api/payments/cash")
    assert [(c["id"], c["difference"]) for c in book["counts"]] == [(recount["id"], 0), (short["id"], -200)]
    assert book["counts"][0]["day"] == book["day"] == short["day"]
    [entry, _] = [e for e in stack.admin_get(client, "/api/payments/admin/audit") if e["action"] == "cash.counted"]
    assert entry["target"] == f"cash:{book['day']}" and entry["details"] == {
        "counted": 4500, "expected": 4500, "difference": 0, "note": None}

    # An earlier day is counted against that day's book (nothing taken then); another day's counts are its own.
    r = count(stack, client, {"counted": 100, "day": "2026-01-05"})
    assert r.status_code == 201 and (r.json()["data"]["expected"], r.json()["data"]["difference"]) == (0, 100)
    assert stack.admin_get(client, "/api/payments/cash?day=2026-01-05")["counts"][0]["counted"] == 100
    assert len(stack.admin_get(client, "/api/payments/cash")["counts"]) == 2

    # Refused, and nothing kept: a day to come, bad amounts and notes, a customer.
    r = count(stack, client, {"counted": 10, "day": "2999-01-01"})
    assert r.status_code == 400 and r.json()["message"] == "A drawer cannot be counted for a day to come", r.text
    for body in ({"counted": -1}, {"counted": True}, {"counted": 10.5}, {"counted": 100_000_001}, {},
                 {"counted": 10, "day": "2026-02-30"}, {"counted": 10, "note": "n" * 201}):
        r = count(stack, client, body)
        assert r.status_code == 400 and r.json()["success"] is False, (body, r.text)
    assert count(stack, client, {"counted": 10}, user=OWNER, role="user").status_code == 403
    assert len(stack.admin_get(client, "/api/payments/cash")["counts"]) == 2


def move(stack: Any, client: httpx.Client, body: dict[str, Any], user: int = ADMIN, role: str = "admin",
         key: str | None = None) -> httpx.Response:
    headers = stack.keys.headers(user, role) | ({"Idempotency-Key": key} if key else {})
    return client.post("/api/payments/cash/movements", json=body, headers=headers)


def test_the_drawer_holds_its_float_less_what_was_banked_from_one_day_to_the_next(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    client = stack.start(billing_url=billing["url"])
    stack.booking(booking_id, OWNER, total_price=4500)
    r = move(stack, client, {"kind": "float", "amount": 1000, "note": "change for the day"})
    assert r.status_code == 201, r.text
    assert (r.json()["data"]["kind"], r.json()["data"]["moved_by"]) == ("float", ADMIN)
    assert take(stack, client, f"JESH-{booking_id}", 4500).status_code == 201

    r = move(stack, client, {"kind": "banked", "amount": 5501, "reference": "slip 9"})
    assert r.status_code == 409, r.text
    assert r.json()["message"] == "Cannot bank more than the drawer should hold (KES 5,500)"
    r = move(stack, client, {"kind": "banked", "amount": 5000, "reference": " slip 10 ", "note": ""}, key="bank-1")
    assert r.status_code == 201, r.text
    banked = r.json()["data"]
    assert (banked["amount"], banked["reference"], banked["note"]) == (5000, "slip 10", None)
    # Sent again after a lost answer: the same banking, not a second one (nor a refusal for the drawer now short).
    again = move(stack, client, {"kind": "banked", "amount": 5000, "reference": "slip 10"}, key="bank-1")
    assert again.status_code == 200 and again.json()["data"]["id"] == banked["id"], again.text
    r = move(stack, client, {"kind": "float", "amount": 5000}, key="bank-1")
    assert r.status_code == 409 and r.json()["message"] == "That Idempotency-Key was used for another cash movement"

    book = stack.admin_get(client, "/api/payments/cash")
    assert [(m["kind"], m["amount"]) for m in book["movements"]] == [("banked", 5000), ("float", 1000)]
    assert (book["opening"], book["net"], book["banked_total"], book["float_total"], book["closing"]) == (
        0, 4500, 5000, 1000, 500)
    r = count(stack, client, {"counted": 500})  # the float's change is what is left after banking the takings
    assert r.status_code == 201 and (r.json()["data"]["expected"], r.json()["data"]["difference"]) == (500, 0)
    actions = [(e["action"], e["target"]) for e in stack.admin_get(client, "/api/payments/admin/audit")]
    assert ("cash.banked", f"cash-movement:{banked['id']}") in actions and ("cash.float", "cash-movement:1") in actions

    # The next day opens with what this one closed with; the day before had nothing.
    tomorrow = (date.fromisoformat(book["day"]) + timedelta(days=1)).isoformat()
    after = stack.admin_get(client, f"/api/payments/cash?day={tomorrow}")
    assert (after["opening"], after["received"], after["movements"], after["closing"]) == (500, [], [], 500)
    yesterday = (date.fromisoformat(book["day"]) - timedelta(days=1)).isoformat()
    assert stack.admin_get(client, f"/api/payments/cash?day={yesterday}")["closing"] == 0

    # Refused, and nothing moved: bad kinds, amounts and texts, a customer.
    for body in ({"kind": "stolen", "amount": 10}, {"kind": "banked", "amount": 0}, {"kind": "float", "amount": True},
                 {"kind": "float", "amount": 100_000_001}, {"amount": 10}, {"kind": "float", "amount": 10,
                                                                              "reference": "r" * 61}):
        r = move(stack, client, body)
        assert r.status_code == 400 and r.json()["success"] is False, (body, r.text)
    assert move(stack, client, {"kind": "float", "amount": 10}, user=OWNER, role="user").status_code == 403
    assert stack.admin_get(client, "/api/payments/cash")["closing"] == 500

    # A cash refund is handed back from the drawer: not with more than it holds (put in float first).
    stack.event_bus.publish("BookingCancelled", {"booking_id": booking_id, "user_id": OWNER, "unit_id": 7,
                                                 "start_date": "2030-01-01", "end_date": "2030-02-01",
                                                 "reason": "admin"})
    [refund] = wait_for(lambda: stack.admin_get(client, "/api/payments/refunds"), what="the refund")
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 409, r.text
    assert r.json()["message"] == "Cannot hand back more than the drawer should hold (KES 500)"
    assert stack.admin_get(client, "/api/payments/refunds")[0]["status"] == "required"
    assert move(stack, client, {"kind": "float", "amount": 4000}).status_code == 201
    r = client.post(f"/api/payments/refunds/{refund['id']}/approve", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200 and r.json()["data"]["status"] == "paid", r.text
    assert stack.admin_get(client, "/api/payments/cash")["closing"] == 0


def reverse(stack: Any, client: httpx.Client, movement_id: Any, reason: Any = "typed 50,000 for 5,000",
            user: int = ADMIN, role: str = "admin") -> httpx.Response:
    return client.post(f"/api/payments/cash/movements/{movement_id}/reversal", json={"reason": reason},
                       headers=stack.keys.headers(user, role))


def test_a_movement_recorded_by_mistake_is_reversed_once_and_the_drawer_holds_what_it_did_before(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    client = stack.start(billing_url=billing["url"])
    stack.booking(booking_id, OWNER, total_price=4500)
    assert take(stack, client, f"JESH-{booking_id}", 4500).status_code == 201
    wrong = move(stack, client, {"kind": "banked", "amount": 4000, "reference": "slip 11"}).json()["data"]
    float_in = move(stack, client, {"kind": "float", "amount": 2000}).json()["data"]
    assert stack.admin_get(client, "/api/payments/cash")["closing"] == 2500

    # Refused, and nothing changed: a customer, no reason, a blank one, no such movement, an id out of range.
    assert reverse(stack, client, wrong["id"], user=OWNER, role="user").status_code == 403
    for reason in (None, "  ", "x" * 201, 12):
        r = reverse(stack, client, wrong["id"], reason)
        assert r.status_code == 400 and r.json()["success"] is False, (reason, r.text)
    r = reverse(stack, client, 999_999)
    assert r.status_code == 404 and r.json()["message"] == "Cash movement not found", r.text
    for movement_id in ("abc", 0, 2**63):  # a malformed id is an unknown one
        assert reverse(stack, client, movement_id).status_code == 404, movement_id
    assert stack.admin_get(client, "/api/payments/cash")["closing"] == 2500

    r = reverse(stack, client, wrong["id"], " typed 4,000 for 400 ")
    assert r.status_code == 201, r.text
    reversal = r.json()["data"]
    assert (reversal["kind"], reversal["amount"], reversal["reverses"], reversal["note"], reversal["reversed_by"]) == (
        "banked", -4000, wrong["id"], "typed 4,000 for 400", None)
    # A retry answers the same reversal, whatever its reason: the banking is undone once.
    again = reverse(stack, client, wrong["id"], "sent twice")
    assert again.status_code == 200 and again.json()["data"] == reversal, again.text
    r = reverse(stack, client, reversal["id"])
    assert r.status_code == 409 and r.json()["message"] == "A reversal cannot be reversed: record the movement again"

    book = stack.admin_get(client, "/api/payments/cash")
    assert [(m["id"], m["amount"], m["reverses"], m["reversed_by"]) for m in book["movements"]] == [
        (reversal["id"], -4000, wrong["id"], None), (float_in["id"], 2000, None, None),
        (wrong["id"], 4000, None, reversal["id"])]
    assert (book["banked_total"], book["float_total"], book["closing"]) == (0, 2000, 6500)
    # The banking that really happened, recorded again.
    assert move(stack, client, {"kind": "banked", "amount": 400, "reference": "slip 11"}).status_code == 201
    assert stack.admin_get(client, "/api/payments/cash")["closing"] == 6100

    # A float reversed takes its cash back out of the drawer: never more than the drawer holds.
    assert move(stack, client, {"kind": "banked", "amount": 5000}).status_code == 201
    r = reverse(stack, client, float_in["id"], "no float came")
    assert r.status_code == 409, r.text
    assert r.json()["message"] == "Cannot take back more than the drawer should hold (KES 1,100)"
    assert move(stack, client, {"kind": "float", "amount": 900}).status_code == 201
    assert reverse(stack, client, float_in["id"], "no float came").status_code == 201
    assert stack.admin_get(client, "/api/payments/cash")["closing"] == 0
    audit = [(e["action"], e["target"]) for e in stack.admin_get(client, "/api/payments/admin/audit")]
    assert audit.count(("cash.reversed", f"cash-movement:{wrong['id']}")) == 1
    assert ("cash.reversed", f"cash-movement:{float_in['id']}") in audit
