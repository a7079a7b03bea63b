"""Customers hear about their money and their goods: SMS through the Africa's Talking simulator and email
through the local SMTP server, from the real services' events (billing's are staged on NATS here)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from jeshstack.testing import EventBus, wait_for
from smtp_sim import read_mail
from tests.e2e.api import Api, far_future

pytestmark = pytest.mark.e2e

PAYS = "0712345678"
INSUFFICIENT_FUNDS = "0712340001"


class Inboxes:
    """What reached the customers: the SMS simulator's messages and the SMTP server's Maildir."""

    def __init__(self, stack: Any) -> None:
        self.sms_url = stack.sms_simulator_url
        self.mail_dir = stack.mail_dir

    def sms(self, phone: str) -> list[str]:
        rows = httpx.get(f"{self.sms_url}/simulator/messages", params={"to": phone}, timeout=5).json()
        return [row["message"] for row in rows]

    def mail(self, email: str) -> list[Any]:
        return [mail for mail in read_mail(self.mail_dir) if mail["To"] == email]


@pytest.fixture(scope="session")
def inboxes(jesh_stack: Any) -> Inboxes:
    return Inboxes(jesh_stack)


@pytest.fixture
def person(gateway: str) -> Iterator[Api]:
    """A customer with a phone and an email of their own."""
    api = Api(gateway)
    local = f"07{random.randint(10_000_000, 99_999_999)}"
    while local[-4:] in ("0403", "0405", "0406", "0500", "9999", "0001", "1032", "1037", "2001", "0000"):
        local = f"07{random.randint(10_000_000, 99_999_999)}"
    email = f"person-{uuid.uuid4().hex[:10]}@example.co.ke"
    r = api.post("/api/auth/register", {"email": email, "phone": local, "name": "Amani Mwangi",
                                        "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    api.token = r.json()["token"]
    api.user = {**r.json()["user"], "phone": "254" + local[1:], "email": email}
    yield api
    api.close()


def notifications(api: Api, **params: str) -> list[dict[str, Any]]:
    r = api.get("/api/notifications", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def wait_notifications(api: Api, count: int, timeout: float = 20, **params: str) -> list[dict[str, Any]]:
    return wait_for(lambda: rows if len(rows := notifications(api, **params)) >= count else None, timeout=timeout,
                    what=f"{count} notifications {params}")


def wait_sent(api: Api, template: str, timeout: float = 20) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        rows = notifications(api, template=template)
        return rows if len(rows) == 2 and all(r["status"] in ("sent", "delivered") for r in rows) else None

    return wait_for(check, timeout=timeout, what=f"{template} sent by SMS and email")


def test_a_new_customer_is_welcomed_once_by_sms_and_email_and_the_sms_is_delivered(person: Api, inboxes: Inboxes):
    rows = wait_sent(person, "welcome")
    assert {(r["channel"], r["to"]) for r in rows} == {("sms", person.user["phone"]), ("email", person.user["email"])}
    assert inboxes.sms(person.user["phone"]) == ["Karibu Jesh Storage, Amani! Your account is ready. Book a storage "
                                                 "unit and pay by M-PESA any time."]
    (mail,) = inboxes.mail(person.user["email"])
    assert mail["Subject"] == "Welcome to Jesh Storage"
    assert "Hello Amani," in mail.get_body(("plain",)).get_content()
    assert "<p>Hello Amani,</p>" in mail.get_body(("html",)).get_content()
    # Africa's Talking's delivery report comes back through the gateway and marks the SMS delivered.
    wait_for(lambda: notifications(person, channel="sms")[0]["status"] == "delivered", timeout=15,
             what="the delivery report")


def test_paying_a_booking_sends_the_confirmation_with_the_mpesa_receipt(person: Api, new_unit: Any,
                                                                        inboxes: Inboxes):
    unit = new_unit(monthly_price=3500)
    booking = person.book(unit["id"], far_future(60), days=30).json()["data"]
    assert person.pay(booking["id"], PAYS).status_code == 200
    person.wait_booking(booking["id"], status="confirmed")
    receipt = person.get(f"/api/payments/status/{booking['id']}").json()["data"]["transaction_code"]
    rows = wait_sent(person, "booking_confirmed")
    sms = next(r for r in rows if r["channel"] == "sms")
    assert f"Booking #{booking['id']} confirmed" in sms["body"] and "Paid KES 3,500" in sms["body"]
    assert f"M-PESA ref {receipt}" in sms["body"]
    assert [t for t in inboxes.sms(person.user["phone"]) if "confirmed" in t] == [sms["body"]]
    assert [m["Subject"] for m in inboxes.mail(person.user["email"])].count(f"Booking #{booking['id']} confirmed") == 1


def test_a_customer_notifications_never_heard_of_still_gets_the_payment_sms(
    person: Api, new_unit: Any, jesh_stack: Any, inboxes: Inboxes
):
    wait_sent(person, "welcome")
    # As if UserRegistered had never reached notifications (registered before it was deployed, aged out, parked).
    engine = create_engine(jesh_stack.database_urls["notifications"])
    try:
        with engine.begin() as conn:
            gone = conn.execute(text("DELETE FROM recipients WHERE user_id = :id"), {"id": person.user["id"]})
            assert gone.rowcount == 1
    finally:
        engine.dispose()
    booking = person.book(new_unit(monthly_price=3500)["id"], far_future(80), days=30).json()["data"]
    assert person.pay(booking["id"], PAYS).status_code == 200
    rows = wait_sent(person, "booking_confirmed", timeout=30)  # auth was asked who the customer is
    sms = next(r for r in rows if r["channel"] == "sms")
    assert sms["to"] == person.user["phone"] and f"Booking #{booking['id']} confirmed" in sms["body"]
    assert [t for t in inboxes.sms(person.user["phone"]) if "confirmed" in t] == [sms["body"]]


def test_swahili_customer_hears_of_a_failed_payment_the_hold_and_the_cancellation(person: Api, new_unit: Any,
                                                                                   inboxes: Inboxes):
    wait_sent(person, "welcome")
    r = person.put("/api/notifications/preferences", {"language": "sw"})
    assert r.status_code == 200 and r.json()["data"]["language"] == "sw"
    unit = new_unit()
    booking = person.book(unit["id"], far_future(70), days=30).json()["data"]
    assert person.pay(booking["id"], INSUFFICIENT_FUNDS).status_code == 200
    failed = wait_sent(person, "payment_failed")
    assert all(r["language"] == "sw" for r in failed)
    assert "salio lako la M-PESA halitoshi" in next(r for r in failed if r["channel"] == "sms")["body"]
    # The hold is short in the tests (BOOKING_HOLD_SECONDS=8): the reminder goes at once, then the hold expires.
    hold = wait_sent(person, "hold_expiring")
    assert f"nafasi #{booking['id']} imeshikiliwa hadi saa" in next(r for r in hold if r["channel"] == "sms")["body"]
    cancelled = wait_sent(person, "booking_cancelled", timeout=30)
    assert "haikulipwa kwa wakati" in next(r for r in cancelled if r["channel"] == "sms")["body"]
    assert len(notifications(person)) == 8  # 4 templates, on both channels


def test_billing_refund_and_transport_messages_once_each_even_when_redelivered(
    person: Api, admin: Api, jesh_stack: Any, inboxes: Inboxes
):
    wait_sent(person, "welcome")
    bus = EventBus(jesh_stack.nats_url)
    user_id = person.user["id"]
    invoice = {"invoice_id": 9000 + user_id, "number": f"INV-{user_id:05d}", "booking_id": 1, "user_id": user_id,
               "total": 3500, "balance": 3500, "due_date": "2031-01-05", "period_start": "2031-01-05",
               "period_end": "2031-02-04"}
    staged = [
        bus.publish("InvoiceIssued", invoice, source="billing"),
        bus.publish("InvoiceReminder", {**invoice, "days_until_due": 3}, source="billing"),
        bus.publish("InvoiceOverdue", {**invoice, "days_overdue": 5, "late_fee": 500, "balance": 4000},
                    source="billing"),
        # A payment's receipt: billing's RentPaymentApplied (InvoicePaid names the payment and is no receipt then).
        bus.publish("RentPaymentApplied", {"payment_id": 9000 + user_id, "booking_id": 1, "user_id": user_id,
                                           "amount": 4000, "method": "mpesa", "receipt": "SBX42Q", "balance": 0,
                                           "credit": 0, "refund": 0, "invoices": [
                                               {"invoice_id": invoice["invoice_id"], "number": invoice["number"],
                                                "amount": 4000}]}, source="billing"),
        bus.publish("AccessSuspended", {"booking_id": 1, "user_id": user_id, "unit_id": 1, "balance": 4000},
                    source="billing"),
        bus.publish("AccessRestored", {"booking_id": 1, "user_id": user_id, "unit_id": 1, "balance": 0},
                    source="billing"),
        # refund 1 would be payments' own first refund in this stack: billing records each refund once by its id,
        # and the real one (test_billing's) was then dropped
        bus.publish("RefundPaid", {"refund_id": 9000 + user_id, "booking_id": 1, "invoice_id": None, "user_id": user_id,
                                   "amount": 1500, "method": "mpesa", "receipt": "RFD42X"}, source="payments"),
    ]
    r = person.post("/api/transport-requests", {"pickup_address": "Moi Avenue, Nairobi",
                                                "delivery_address": "Jesh Storage, Mombasa Road", "distance": 5,
                                                "preferred_time": "2031-01-05T09:00:00+03:00",
                                                "items_description": "Ten boxes"})
    assert r.status_code == 201, r.text
    request_id = r.json()["data"]["id"]
    for status in ("scheduled", "in_progress", "completed"):
        assert admin.patch(f"/api/transport-requests/{request_id}/status", {"status": status}).status_code == 200
    templates = ["invoice_issued", "payment_reminder", "invoice_overdue", "payment_received", "access_suspended",
                 "access_restored", "refund_paid", "transport_scheduled", "transport_completed"]
    for template in templates:
        wait_sent(person, template)
    # Every event again, as a redelivery (same event ids, past JetStream's de-duplication): nothing new.
    for env in staged:
        bus.publish(env["type"], env["data"], event_id=env["id"], source=env["source"], dedupe=False)
    # A last event, handled after the redeliveries: once its messages exist, the redeliveries were handled too.
    bus.publish("AccessRestored", {"booking_id": 2, "user_id": user_id, "unit_id": 1, "balance": 0}, source="billing")
    expected = 2 * (len(templates) + 2)  # + welcome + the last event, on both channels

    def all_sent() -> list[dict[str, Any]] | None:
        rows = notifications(person)
        return rows if len(rows) >= expected and all(r["status"] in ("sent", "delivered") for r in rows) else None

    rows = wait_for(all_sent, timeout=30, what="every message sent")
    assert len(rows) == expected
    assert sorted(r["template"] for r in rows if r["channel"] == "sms") == sorted(
        [*templates, "welcome", "access_restored"])
    texts = inboxes.sms(person.user["phone"])
    assert len(texts) == len(templates) + 2
    assert any(t.startswith("Invoice INV-") and "is 5 days overdue, with a late fee of KES 500:" in t for t in texts)
    assert f"Your transport request #{request_id} is scheduled. Our team will call you before the truck comes." in texts
    assert len(inboxes.mail(person.user["email"])) == len(templates) + 2


def test_an_admin_sees_everyones_messages_and_a_customer_only_theirs(person: Api, customer: Api, admin: Api):
    wait_sent(person, "welcome")
    assert {r["user_id"] for r in notifications(customer)} <= {customer.user["id"]}
    theirs = wait_notifications(admin, 2, user_id=str(person.user["id"]))
    assert {r["user_id"] for r in theirs} == {person.user["id"]}
    assert person.put("/api/notifications/preferences", {"language": "de"}).status_code == 400
    # Older messages than a page holds: offset reaches them, newest first, each once.
    pages = [notifications(admin, user_id=str(person.user["id"]), limit="1", offset=str(k)) for k in (0, 1, 2)]
    assert [r["id"] for page in pages for r in page] == [r["id"] for r in theirs] and len(theirs) == 2
    assert admin.get("/api/notifications", params={"offset": "-1"}).status_code == 400


@pytest.mark.fault
def test_sms_gateway_down_the_sms_waits_and_goes_when_it_returns(gateway: str, jesh_stack: Any, inboxes: Inboxes):
    jesh_stack.stop_process("sms-sim")
    try:
        api = Api(gateway)
        email = f"down-{uuid.uuid4().hex[:8]}@example.co.ke"
        r = api.post("/api/auth/register", {"email": email, "phone": "0722334455", "name": "Baraka Otieno",
                                            "password": "correct horse battery"})
        assert r.status_code == 201, r.text
        api.token = r.json()["token"]
        wait_for(lambda: any(r["channel"] == "email" and r["status"] == "sent" for r in notifications(api)),
                 timeout=20, what="the email (not affected)")
        sms = wait_for(lambda: [r for r in notifications(api, channel="sms") if r["status"] == "queued"], timeout=20,
                       what="the SMS queued")
        assert sms[0]["sent_at"] is None
    finally:
        jesh_stack.start_process("sms-sim", wait=False)
    wait_for(lambda: http_ok(f"{inboxes.sms_url}/healthz"), timeout=30, what="the SMS gateway back")
    wait_for(lambda: notifications(api, channel="sms")[0]["status"] in ("sent", "delivered"), timeout=60,
             what="the SMS sent after the outage")
    assert any(t.startswith("Karibu Jesh Storage, Baraka!") for t in inboxes.sms("254722334455"))
    api.close()


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
