"""The Paybill (M-PESA C2B): customers pay from their phone's menu with an account number. Against the Daraja
simulator: URLs registered, validation refusing what pays nothing, confirmations never trusted until Transaction
Status says Completed, money credited once to its booking or invoice, unmatched money refunded or assigned."""

from __future__ import annotations

import time
from typing import Any, cast

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import text

from jeshstack.testing import wait_for
from payments.mpesa import MpesaProvider
from payments.settings import FORBIDDEN_CALLBACK_WORDS, Settings

OWNER, ADMIN = 21, 1
TOKEN = "paybill-test-token"
PAYBILL = "174379"


def start(stack: Any, billing: dict[str, Any], **extra: Any) -> httpx.Client:
    client = stack.start(mpesa_c2b_token=TOKEN, billing_url=billing["url"], paybill_status_wait_seconds=0.3, **extra)
    r = client.post("/api/payments/paybill/register", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 200, r.text
    assert TOKEN not in r.text  # the secret segment is never shown
    return client


def pay(stack: Any, account: str, amount: int, phone: str = "254708374149") -> dict[str, Any]:
    """A customer pays the Paybill from their phone (the simulator plays M-PESA)."""
    r = stack.sim.client.post("/simulator/c2b/pay", json={
        "ShortCode": PAYBILL, "CommandID": "CustomerPayBillOnline", "Amount": amount, "Msisdn": phone,
        "BillRefNumber": account})
    assert r.status_code == 200, r.text
    return dict(r.json())


def rows(stack: Any) -> list[dict[str, Any]]:
    with stack.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM paybill_payments ORDER BY id"))]


def daraja_takes(token: str) -> bool:
    """A result token Daraja takes in a ResultURL: hex digits only, which can never spell a word it refuses there
    (a base64 token spelled "sql" or "exe" a few times in a thousand, and that payment was never verified)."""
    return len(token) >= 32 and set(token) <= set("0123456789abcdef") and not any(
        word in token.lower() for word in FORBIDDEN_CALLBACK_WORDS)


def sim_c2b(stack: Any) -> list[dict[str, Any]]:
    r = stack.sim.client.get("/simulator/c2b")
    assert r.status_code == 200, r.text
    return list(r.json()["transactions"])


def test_the_paybill_is_public_and_off_without_its_token(stack: Any) -> None:
    client = stack.start()
    assert client.get("/api/payments/paybill").json()["data"] == {"enabled": False, "business_number": None}
    r = client.post("/api/payments/paybill/register", headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 409 and "MPESA_C2B_TOKEN" in r.json()["message"]
    assert client.post("/api/payments/paybill/register", headers=stack.keys.headers(OWNER)).status_code == 403
    # Nothing at the hooks is kept while the Paybill is off.
    body = {"TransID": "RKX0000001", "TransAmount": "10.00", "BusinessShortCode": PAYBILL, "BillRefNumber": "JESH-1"}
    r = client.post(f"/api/payments/hooks/paybill/confirmation/{TOKEN}", json=body)
    assert r.status_code == 200 and r.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert rows(stack) == []


def test_a_booking_paid_to_the_paybill_is_checked_then_confirmed_once(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    client = start(stack, billing)
    assert client.get("/api/payments/paybill").json()["data"] == {"enabled": True, "business_number": PAYBILL}
    stack.booking(booking_id, OWNER, total_price=4500)

    pay(stack, f" jesh {booking_id} ", 4500)  # typed loosely: case and spaces do not matter
    event = stack.wait_event("PaymentSucceeded", booking_id)
    [row] = rows(stack)
    assert (row["status"], row["amount"], row["phone_number"]) == ("applied", 4500, "254708374149")
    assert daraja_takes(row["result_token"]), row["result_token"]
    assert row["msisdn"] != "254708374149" and "*" in row["msisdn"]  # masked, as M-PESA sends it
    assert event["receipt"] == row["trans_id"] and event["amount"] == 4500 and event["invoice_id"] is None
    assert event["user_id"] == OWNER and event["method"] == "mpesa"

    # M-PESA repeats the confirmation: nothing more is paid.
    assert stack.sim.client.post(f"/simulator/c2b/{row['trans_id']}/resend").status_code == 200
    wait_for(lambda: len([d for t in sim_c2b(stack) for d in t.get("deliveries", [])]) >= 2, what="the resend")
    assert len(stack.payments(booking_id)) == 1 and len(stack.outbox("PaymentSucceeded", booking_id)) == 1
    [listed] = stack.admin_get(client, "/api/payments/paybill/payments")
    assert (listed["status"], listed["booking_id"], listed["account"].strip()) == (
        "applied", booking_id, f"jesh {booking_id}")


def test_an_stk_callback_naming_a_paybill_payment_s_receipt_changes_nothing(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    """A Paybill payment keeps its TransID (printed on the payer's SMS) where a push keeps its CheckoutRequestID:
    a tokenless callback naming it (the compat path, MPESA_CALLBACK_TOKEN unset) was counted on it and flagged it."""
    client = start(stack, billing)
    stack.booking(booking_id, OWNER, total_price=4500)
    pay(stack, f"JESH-{booking_id}", 4500)
    stack.wait_event("PaymentSucceeded", booking_id)
    [row] = rows(stack)
    body = {"Body": {"stkCallback": {"MerchantRequestID": "1-2-3", "CheckoutRequestID": row["trans_id"],
                                     "ResultCode": 1032, "ResultDesc": "Request cancelled by user"}}}
    assert client.post("/api/payments/mpesa/callback", json=body).status_code == 200
    [payment] = stack.payments(booking_id)
    assert payment["status"] == "success" and payment["discrepancy"] is None
    assert stack.payment(row["trans_id"])["callbacks_received"] == 0


def test_validation_refuses_what_pays_nothing_before_money_moves(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    start(stack, billing)
    stack.booking(booking_id, OWNER, total_price=4500)
    pay(stack, f"JESH-{booking_id}", 4000)  # not the booking's price
    pay(stack, "INV-000404", 1000)  # no such invoice
    pay(stack, "my unit", 1000)  # names nothing
    settled = wait_for(lambda: (t := sim_c2b(stack)) and all(x["status"] != "pending" for x in t) and t,
                       what="the simulator to settle")
    assert {t["status"] for t in settled} == {"rejected"}
    answers = sorted(t["ResultCode"] for t in settled)
    assert answers == ["C2B00012", "C2B00012", "C2B00013"], settled
    assert rows(stack) == [] and stack.payments(booking_id) == []


def test_an_invoice_number_pays_the_rental_any_amount(stack: Any, billing: dict[str, Any], booking_id: int) -> None:
    billing["accounts"]["INV-000123"] = {"id": 123, "number": "INV-000123", "booking_id": booking_id,
                                         "user_id": OWNER, "total": 3000, "balance": 3000, "status": "open"}
    start(stack, billing)
    pay(stack, "inv000123", 1000)
    event = stack.wait_event("PaymentSucceeded", booking_id)
    assert (event["invoice_id"], event["amount"], event["user_id"]) == (123, 1000, OWNER)


def test_a_forged_confirmation_is_never_credited(stack: Any, billing: dict[str, Any], booking_id: int) -> None:
    client = start(stack, billing)
    stack.booking(booking_id, OWNER, total_price=4500)
    forged = {"TransactionType": "Pay Bill", "TransID": "RKF0RG3D01", "TransTime": "20261203101010",
              "TransAmount": "4500.00", "BusinessShortCode": PAYBILL, "BillRefNumber": f"JESH-{booking_id}",
              "MSISDN": "2547 ***** 149", "FirstName": "EVE"}
    assert client.post("/api/payments/hooks/paybill/confirmation/wrong-token", json=forged).status_code == 200
    assert rows(stack) == []  # not at our URL: ignored
    other = {**forged, "TransID": "RKF0RG3D02", "BusinessShortCode": "600000"}
    assert client.post(f"/api/payments/hooks/paybill/confirmation/{TOKEN}", json=other).status_code == 200
    r = client.post(f"/api/payments/hooks/paybill/confirmation/{TOKEN}", json=forged)
    assert r.status_code == 200 and r.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    # M-PESA's Transaction Status knows no such receipt: asked a few times, then rejected; never credited.
    done = wait_for(lambda: (r := {x["trans_id"]: x for x in rows(stack)}) and r["RKF0RG3D01"]["status"] == "rejected"
                    and r, timeout=20, what="the forged payment rejected")
    assert done["RKF0RG3D01"]["note"] == "M-PESA knows no such transaction"
    assert done["RKF0RG3D02"]["status"] == "rejected" and "600000" in done["RKF0RG3D02"]["note"]
    assert stack.payments(booking_id) == [] and stack.outbox("PaymentSucceeded", booking_id) == []


def without_validation(stack: Any, client: httpx.Client) -> None:
    """Our validation URL cannot answer (registered with ResponseType Completed): M-PESA takes whatever is typed."""
    token = stack.sim.client.get("/oauth/v1/generate?grant_type=client_credentials",
                                 auth=("k", "s")).json()["access_token"]
    r = stack.sim.client.post("/mpesa/c2b/v2/registerurl", headers={"Authorization": f"Bearer {token}"}, json={
        "ShortCode": PAYBILL, "ResponseType": "Completed", "ValidationURL": "http://127.0.0.1:9/down",
        "ConfirmationURL": f"{str(client.base_url).rstrip('/')}/api/payments/hooks/paybill/confirmation/{TOKEN}"})
    assert r.status_code == 200, r.text


def test_unmatched_money_is_announced_with_what_its_account_names(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    """PaymentUnmatched, staged with the unmatched row, tells notifications whose money it is and why it waits."""
    client = start(stack, billing)
    stack.booking(booking_id, OWNER, total_price=4500)
    without_validation(stack, client)
    pay(stack, f"jesh {booking_id}", 4000, phone="254711222333")  # short of the price
    pay(stack, "  nothing  ", 700, phone="254722333444")  # names nothing
    events = wait_for(lambda: (e := stack.outbox("PaymentUnmatched", sent=True)) and len(e) == 2 and e,
                      timeout=15, what="two PaymentUnmatched")
    unmatched = {u["receipt"]: u for u in stack.admin_get(client, "/api/payments/unmatched")}
    short, stranger = sorted(events, key=lambda e: -e["amount"])
    assert short == {
        "unmatched_id": unmatched[short["receipt"]]["id"], "amount": 4000, "receipt": short["receipt"],
        "account": f"jesh {booking_id}", "reason": "wrong_amount", "booking_id": booking_id, "invoice_id": None,
        "user_id": OWNER, "price": 4500, "phone_number": "254711222333"}
    assert stranger == {
        "unmatched_id": unmatched[stranger["receipt"]]["id"], "amount": 700, "receipt": stranger["receipt"],
        "account": "nothing", "reason": "unknown_account", "booking_id": None, "invoice_id": None,
        "user_id": None, "price": None, "phone_number": "254722333444"}

    # Paid in full, then once more: the second is money for a booking paid already, announced to its customer.
    pay(stack, f"JESH-{booking_id}", 4500)
    stack.wait_event("PaymentSucceeded", booking_id)
    stack.event_bus.publish("BookingConfirmed", {  # as booking answers that payment
        "booking_id": booking_id, "user_id": OWNER, "unit_id": 7, "start_date": "2030-01-01",
        "end_date": "2030-02-01", "total_price": 4500})
    wait_for(lambda: stack.booking_row(booking_id)["status"] == "confirmed", what="the booking confirmed")
    pay(stack, f"JESH-{booking_id}", 4500)
    again = wait_for(lambda: [e for e in stack.outbox("PaymentUnmatched", booking_id, sent=True)
                              if e["reason"] == "paid_already"], timeout=15, what="PaymentUnmatched paid_already")
    assert [(e["user_id"], e["amount"], e["price"]) for e in again] == [(OWNER, 4500, None)]
    assert len(stack.outbox("PaymentUnmatched")) == 3  # one per unmatched money, however often it is looked at


def test_unmatched_paybill_money_is_assigned_or_refunded(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    client = start(stack, billing)
    admin = stack.keys.headers(ADMIN, "admin")
    stack.booking(booking_id, OWNER, total_price=4500)
    without_validation(stack, client)
    pay(stack, "JESH 4X", 4500, phone="254711222333")  # a typing slip
    pay(stack, "nothing", 700, phone="254722333444")
    unmatched = wait_for(lambda: (u := [x for x in stack.admin_get(client, "/api/payments/unmatched")
                                        if x["source"] == "paybill"]) and len(u) == 2 and u,
                         timeout=15, what="two unmatched Paybill payments")
    slip = next(u for u in unmatched if u["amount"] == 4500)
    other = next(u for u in unmatched if u["amount"] == 700)
    assert slip["phone_number"] == "254711222333" and slip["reference"] == slip["receipt"]

    # The wrong account for it: refused, nothing changes; the right one: paid as if typed right.
    wrong = client.post(f"/api/payments/unmatched/{slip['id']}/assign", json={"account": "INV-9"}, headers=admin)
    assert wrong.status_code == 409 and "INV-000009" in wrong.json()["message"]
    assert client.post(f"/api/payments/unmatched/{slip['id']}/assign", json={"account": "x"},
                       headers=stack.keys.headers(OWNER)).status_code == 403
    r = client.post(f"/api/payments/unmatched/{slip['id']}/assign", json={"account": f"JESH-{booking_id}"},
                    headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["data"]["booking_id"], r.json()["data"]["amount"]) == (booking_id, 4500)
    event = stack.wait_event("PaymentSucceeded", booking_id)
    assert event["receipt"] == slip["receipt"]
    stack.event_bus.publish("BookingConfirmed", {  # as booking answers that payment
        "booking_id": booking_id, "user_id": OWNER, "unit_id": 7, "start_date": "2030-01-01",
        "end_date": "2030-02-01", "total_price": 4500})
    wait_for(lambda: stack.booking_row(booking_id)["status"] == "confirmed", what="the booking confirmed")
    paid = client.post(f"/api/payments/unmatched/{other['id']}/assign", json={"account": f"JESH-{booking_id}"},
                       headers=admin)
    assert paid.status_code == 409 and "paid already" in paid.json()["message"]
    again = client.post(f"/api/payments/unmatched/{slip['id']}/assign", json={"account": f"JESH-{booking_id}"},
                        headers=admin)
    assert again.status_code == 409
    assert client.post(f"/api/payments/unmatched/{slip['id']}/refund", headers=admin).status_code == 409
    assert [u["id"] for u in stack.admin_get(client, "/api/payments/unmatched") if u["source"] == "paybill"] == [
        other["id"]]

    # The other is paid back: Transaction Status confirmed it already, so no STK query is needed.
    refund = client.post(f"/api/payments/unmatched/{other['id']}/refund", headers=admin)
    assert refund.status_code == 200, refund.text
    assert (refund.json()["data"]["amount"], refund.json()["data"]["status"]) == (700, "required")


def test_a_payment_whose_confirmation_was_lost_is_claimed_by_its_receipt(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    client = start(stack, billing)
    admin = stack.keys.headers(ADMIN, "admin")
    stack.booking(booking_id, OWNER, total_price=4500)
    pay(stack, f"JESH-{booking_id}", 4500, phone="254708370000")  # M-PESA takes it; its confirmation never comes
    [lost] = wait_for(lambda: [t for t in sim_c2b(stack) if t["status"] == "completed"], what="the lost payment")
    assert lost["deliveries"] == [] and rows(stack) == []

    claims = "/api/payments/paybill/claims"
    bad = client.post(claims, json={"receipt": "NOT A RECEIPT", "account": f"JESH-{booking_id}"}, headers=admin)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "receipt"
    nothing = client.post(claims, json={"receipt": lost["TransID"], "account": "my unit"}, headers=admin)
    assert nothing.status_code == 409 and rows(stack) == []
    assert client.post(claims, json={"receipt": lost["TransID"], "account": f"JESH-{booking_id}"},
                       headers=stack.keys.headers(OWNER)).status_code == 403
    r = client.post(claims, json={"receipt": lost["TransID"].lower(), "account": f"JESH-{booking_id}"}, headers=admin)
    assert r.status_code == 202, r.text
    assert (r.json()["data"]["status"], r.json()["data"]["amount"]) == ("received", None)
    event = stack.wait_event("PaymentSucceeded", booking_id)  # M-PESA told the amount: 4500, the booking's price
    assert (event["amount"], event["receipt"]) == (4500, lost["TransID"])
    again = client.post(claims, json={"receipt": lost["TransID"], "account": f"JESH-{booking_id}"}, headers=admin)
    assert again.status_code == 409 and "applied" in again.json()["message"]

    # A receipt M-PESA does not know: asked a few times, rejected, never credited.
    r = client.post(claims, json={"receipt": "RKN0SUCH01", "account": f"JESH-{booking_id}"}, headers=admin)
    assert r.status_code == 202
    wait_for(lambda: {x["trans_id"]: x["status"] for x in rows(stack)}.get("RKN0SUCH01") == "rejected", timeout=20,
             what="the unknown receipt rejected")
    assert len(stack.payments(booking_id)) == 1
    assert all(daraja_takes(row["result_token"]) for row in rows(stack)), rows(stack)  # claimed by an operator


def test_a_completed_status_without_a_readable_amount_verifies_nothing(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    # Before: an operator's claim (no amount yet) became `verified` with no amount, and crediting it failed on an
    # assert at every pass of the money job (a stack trace each time, and the job's other work after it not done).
    client = start(stack, billing)
    stack.booking(booking_id, OWNER, total_price=4500)
    r = client.post("/api/payments/paybill/claims", json={"receipt": "RKP0ODD001", "account": f"JESH-{booking_id}"},
                    headers=stack.keys.headers(ADMIN, "admin"))
    assert r.status_code == 202, r.text
    [claim] = [row for row in rows(stack) if row["trans_id"] == "RKP0ODD001"]
    parameters = [{"Key": "TransactionStatus", "Value": "Completed"}, {"Key": "ReceiptNo", "Value": "RKP0ODD001"},
                  {"Key": "Amount", "Value": "not a number"}, {"Key": "DebitPartyName", "Value": "254708374149 - J"}]
    status = {"Result": {"ResultType": 0, "ResultCode": 0, "ResultDesc": "ok", "OriginatorConversationID": "o",
                         "ResultParameters": {"ResultParameter": parameters}}}
    hook = f"http://127.0.0.1:{client.port}/api/payments/hooks/paybill/status/{claim['result_token']}"
    assert stack.post_callback(hook, status).status_code == 200
    [after] = [row for row in rows(stack) if row["trans_id"] == "RKP0ODD001"]
    assert (after["status"], after["amount"]) == ("received", None) and "readable amount" in after["note"]
    assert stack.outbox("PaymentSucceeded", booking_id) == []


def test_the_paybill_s_own_api_operator_asks_transaction_status_when_one_is_set() -> None:
    class Daraja:
        def __init__(self) -> None:
            self.asked: list[dict[str, Any]] = []

        def transaction_status(self, **question: Any) -> None:
            self.asked.append(question)

    own, shared = Daraja(), Daraja()
    MpesaProvider(cast(Any, own), Settings(
        mpesa_c2b_token=TOKEN, mpesa_c2b_shortcode="654321", mpesa_c2b_initiator_name="paybill-ops",
        mpesa_c2b_security_credential="paybill-credential")).confirm_paybill(trans_id="RKT0000001", result_token="r1")
    MpesaProvider(cast(Any, shared), Settings(mpesa_c2b_token=TOKEN)).confirm_paybill(
        trans_id="RKT0000002", result_token="r2")
    [mine], [theirs] = own.asked, shared.asked
    assert (mine["initiator_name"], mine["security_credential"], mine["party_a"], mine["transaction_id"]) == (
        "paybill-ops", "paybill-credential", "654321", "RKT0000001")
    assert mine["result_url"].endswith("/api/payments/hooks/paybill/status/r1")
    assert (theirs["initiator_name"], theirs["party_a"]) == ("testapi", PAYBILL)  # the B2C initiator, MPESA_SHORTCODE
    with pytest.raises(ValidationError):
        Settings(mpesa_c2b_initiator_name="paybill-ops")  # without its credential


def test_a_lost_confirmation_is_found_by_pull_transactions_and_credited_once(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    client = start(stack, billing, paybill_pull_interval_seconds=0.3)
    admin = stack.keys.headers(ADMIN, "admin")
    assert client.get("/api/payments/paybill/pull", headers=admin).status_code == 404  # not registered yet
    assert client.post("/api/payments/paybill/pull", json={"nominated_number": "0722000000"},
                       headers=stack.keys.headers(OWNER)).status_code == 403
    r = client.post("/api/payments/paybill/pull", json={"nominated_number": "0812345678"}, headers=admin)
    assert r.status_code == 400 and "nominated_number" in r.json()["message"]
    stack.booking(booking_id, OWNER, total_price=4500)
    stack.booking(booking_id + 1, OWNER, total_price=2500)
    pay(stack, f"JESH-{booking_id + 1}", 2500)  # its confirmation comes as usual
    stack.wait_event("PaymentSucceeded", booking_id + 1)

    r = client.post("/api/payments/paybill/pull", json={"nominated_number": "0722000000"}, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["data"]["business_number"], r.json()["data"]["nominated_number"]) == (PAYBILL, "254722000000")
    pay(stack, f"JESH-{booking_id}", 4500, phone="254708370000")  # M-PESA takes it; its confirmation never comes
    event = stack.wait_event("PaymentSucceeded", booking_id, timeout=20)
    [lost] = [t for t in sim_c2b(stack) if t["BillRefNumber"] == f"JESH-{booking_id}"]
    assert lost["deliveries"] == [] and event["receipt"] == lost["TransID"] and event["amount"] == 4500
    found = {row["trans_id"]: row for row in rows(stack)}
    assert len(found) == 2  # the one confirmed as usual is not taken again
    assert found[lost["TransID"]]["status"] == "applied" and "Pull Transactions" in found[lost["TransID"]]["note"]
    assert found[lost["TransID"]]["phone_number"] == "254708370000"  # from Transaction Status, as always
    assert daraja_takes(found[lost["TransID"]]["result_token"]), found  # found by a pull

    state = wait_for(lambda: (s := stack.admin_get(client, "/api/payments/paybill/pull"))["last_found"] == 0 and s,
                     what="a later pull that finds nothing new")
    assert state["last_error"] is None
    assert len(stack.outbox("PaymentSucceeded", booking_id)) == 1  # pulled again and again: credited once
    assert [e["action"] for e in stack.admin_get(client, "/api/payments/admin/audit")].count(
        "paybill.pull_registered") == 1

    # M-PESA cannot be reached: the pull says why and keeps its starting point, then goes on once it can.
    stack.sim.stop()
    failed = wait_for(lambda: (s := stack.admin_get(client, "/api/payments/paybill/pull"))["last_error"] and s,
                      what="a pull that fails")
    assert "M-PESA" in failed["last_error"]
    time.sleep(1)  # three more pulls, all failing
    assert stack.admin_get(client, "/api/payments/paybill/pull")["pulled_until"] == failed["pulled_until"]
    stack.sim.start()
    wait_for(lambda: stack.admin_get(client, "/api/payments/paybill/pull")["last_error"] is None, what="a pull again")


def test_a_receipt_that_paid_a_payment_already_is_never_credited_again(
    stack: Any, billing: dict[str, Any], booking_id: int
) -> None:
    # Before: an operator's claim of an M-PESA Express receipt (the customer showed the SMS of their STK payment)
    # was kept, verified by Transaction Status, and credited as a second payment: the unique receipt refused it, at
    # every pass of the money job, and the sweeps after it (reconciliation, refunds) never ran again.
    client = start(stack, billing, payment_reconcile_after_seconds=1, reconcile_interval_seconds=0.2)
    admin = stack.keys.headers(ADMIN, "admin")
    stack.booking(booking_id, OWNER, total_price=4500)
    started = stack.pay(client, booking_id, OWNER)
    receipt = stack.wait_event("PaymentSucceeded", booking_id)["receipt"]
    other, third = booking_id + 1, booking_id + 2
    stack.booking(other, OWNER, total_price=4500)
    r = client.post("/api/payments/paybill/claims", json={"receipt": receipt, "account": f"JESH-{other}"},
                    headers=admin)
    assert r.status_code == 409, r.text
    assert r.json()["message"] == f"That receipt paid payment {started['payment_id']} already"
    assert rows(stack) == []

    # Kept anyway (an older claim, say) and verified: rejected, never credited, and the money job goes on.
    with stack.db.begin() as conn:
        conn.execute(text(
            "INSERT INTO paybill_payments (trans_id, shortcode, account, amount, msisdn, paid_at, result_token, "
            "payload, status) VALUES (:r, :p, :a, 4500, '254708374149', now(), :t, '{}', 'verified')"),
            {"r": receipt, "p": PAYBILL, "a": f"JESH-{other}", "t": "ab" * 24})
    stack.booking(third, OWNER, total_price=4500)
    stack.pay(client, third, OWNER, phone="0708370000")  # paid, but no callback: only reconciliation settles it
    wait_for(lambda: [x["status"] for x in rows(stack)] == ["rejected"], timeout=15, what="the claim rejected")
    assert rows(stack)[0]["note"] == f"receipt {receipt} paid payment {started['payment_id']} already"
    stack.wait_event("PaymentSucceeded", third, timeout=15)
    assert stack.payments(other) == [] and len(stack.payments(booking_id)) == 1


def test_a_money_job_sweep_that_fails_stops_none_of_the_others(
    stack: Any, billing: dict[str, Any], booking_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the Paybill sweep ran first, and its exception (a row it could not credit, at every pass) ended the
    # whole run: no push was reconciled, no refund re-sent, for as long as that row stayed.
    from payments.service import paybill

    def broken(**_: Any) -> int:
        raise RuntimeError("a Paybill row the sweep cannot handle")

    monkeypatch.setattr(paybill, "settle_paybill", broken)
    client = start(stack, billing, payment_reconcile_after_seconds=1, reconcile_interval_seconds=0.2)
    stack.booking(booking_id, OWNER, total_price=4500)
    stack.pay(client, booking_id, OWNER, phone="0708370000")  # paid, but no callback: only reconciliation settles it
    assert stack.wait_event("PaymentSucceeded", booking_id, timeout=15)["amount"] == 4500
