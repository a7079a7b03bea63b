"""A customer's erasure: GET /internal/users/{id}/holds (open invoices with a balance), and CustomerErased (the
tenant's copy and autopay phone forgotten for good, the money kept)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from billing.rules import anniversary
from jeshkit.clock import nairobi_today
from jeshstack.testing import wait_for

CUSTOMER, OTHER = 5, 6
ACHIENG = {"user_id": CUSTOMER, "email": "achieng@example.co.ke", "name": "Achieng Otieno", "role": "user",
           "phone": "254712345678"}
BRIAN = {"user_id": OTHER, "email": "brian@example.co.ke", "name": "Brian Kiprop", "role": "user",
         "phone": "254722000111"}


def _holds(billing, user_id):
    r = billing.client.get(f"/internal/users/{user_id}/holds")
    assert r.status_code == 200, r.text
    return r.json()["data"]["holds"]


def _tenant(billing, user_id):
    found = billing.rows("SELECT name, email, phone, erased_at FROM tenants WHERE user_id = :u", u=user_id)
    return found[0] if found else None


def _applied(billing, envelope):
    """Wait until billing's consumer has handled this event (its inbox row)."""
    wait_for(lambda: billing.rows("SELECT 1 FROM inbox WHERE event_id = CAST(:e AS uuid)", e=envelope["id"]),
             what=f"{envelope['type']} applied")


def _erase(billing, user_id, erased_at=None):
    envelope = billing.bus.publish("CustomerErased", {
        "user_id": user_id, "erased_at": (erased_at or datetime.now(UTC)).isoformat()}, source="auth")
    _applied(billing, envelope)
    return envelope


def test_open_invoices_with_a_balance_are_holds_paid_and_void_ones_are_not(start_billing):
    billing = start_billing()
    start = nairobi_today()
    second = anniversary(start, 1, start.day)
    billing.confirm_rental(71, start, rate=5000, user_id=CUSTOMER, unit_id=1)  # invoice 1 paid with the booking
    billing.confirm_rental(72, start, rate=3000, user_id=CUSTOMER, unit_id=2)
    billing.confirm_rental(73, start, rate=4000, user_id=CUSTOMER, unit_id=3)
    billing.confirm_rental(74, start, rate=6000, user_id=OTHER, unit_id=4)
    for booking_id in (71, 72, 73, 74):
        billing.advance(booking_id, second - timedelta(days=7))  # invoice 2 issued, open
    billing.bus.publish("BookingMovedOut", {"booking_id": 72, "user_id": CUSTOMER, "unit_id": 2,
                                            "move_out_date": second.isoformat()})
    wait_for(lambda: billing.invoices(72)[1]["status"] == "void", what="72's invoice 2 voided")
    partly = billing.invoices(73)[1]
    billing.pay(73, 1500, invoice_id=partly["id"], user_id=CUSTOMER)
    wait_for(lambda: billing.invoices(73)[1]["amount_paid"] == 1500, what="73's invoice 2 partly paid")
    owed = billing.invoices(71)[1]

    assert _holds(billing, CUSTOMER) == [
        {"kind": "invoice", "id": owed["id"], "detail": f"invoice {owed['number']} is open: KES 5,000 owed"},
        {"kind": "invoice", "id": partly["id"], "detail": f"invoice {partly['number']} is open: KES 2,500 owed"},
    ]
    billing.pay(71, 5000, invoice_id=owed["id"], user_id=CUSTOMER)
    billing.pay(73, 2500, invoice_id=partly["id"], user_id=CUSTOMER)
    wait_for(lambda: _holds(billing, CUSTOMER) == [], what="every invoice of the customer paid")
    assert [hold["id"] for hold in _holds(billing, OTHER)] == [billing.invoices(74)[1]["id"]]
    assert _holds(billing, 999) == []  # a user billing never heard of


def test_erasure_forgets_the_tenant_and_the_autopay_phone_and_keeps_the_money(start_billing):
    billing = start_billing()
    for person in (ACHIENG, BRIAN):
        billing.bus.publish("UserRegistered", person, source="auth")
        wait_for(lambda p=person: _tenant(billing, p["user_id"]), what=f"tenant {person['user_id']}")
    billing.bus.publish("UnitCreated", {"unit_id": 1, "unit_number": "A-101", "size": "small",
                                        "monthly_price": 3000, "bookable": True})
    start = nairobi_today()
    due = anniversary(start, 1, start.day)
    for booking_id, user_id in ((81, CUSTOMER), (82, OTHER)):
        billing.confirm_rental(booking_id, start, rate=3000, user_id=user_id, unit_id=booking_id - 80)
        r = billing.client.put(f"/api/billing/rentals/{booking_id}/autopay", json={"enabled": True},
                               headers=billing.owner(user_id))  # the profile's phone
        assert r.status_code == 200, r.text
        billing.advance(booking_id, due)  # invoice 2 due today: an STK Push asked of payments
    assert [e["phone_number"] for e in billing.events("AutopayRequested", user_id=CUSTOMER)] == [ACHIENG["phone"]]
    invoices_before = billing.invoices(81)
    payments_before = billing.rows("SELECT * FROM payments ORDER BY payment_id")
    staged_before = {t: len(billing.events(t, user_id=CUSTOMER)) for t in ("InvoiceIssued", "InvoicePaid")}

    erased_at = datetime.now(UTC).replace(microsecond=0)
    _erase(billing, CUSTOMER, erased_at)

    assert _tenant(billing, CUSTOMER) == {"name": "Erased customer", "email": None, "phone": None,
                                          "erased_at": erased_at}
    assert _tenant(billing, OTHER) == {"name": BRIAN["name"], "email": BRIAN["email"], "phone": BRIAN["phone"],
                                       "erased_at": None}
    assert billing.account(81)["autopay"] == {"enabled": False, "phone_number": None}
    assert billing.account(82)["autopay"] == {"enabled": True, "phone_number": BRIAN["phone"]}
    assert billing.events("AutopayRequested", user_id=CUSTOMER) == []  # the events that carried the phone
    assert [e["phone_number"] for e in billing.events("AutopayRequested", user_id=OTHER)] == [BRIAN["phone"]]
    # The money stays: invoices, payments, and the outbox's other events of the account.
    assert billing.invoices(81) == invoices_before
    assert billing.rows("SELECT * FROM payments ORDER BY payment_id") == payments_before
    assert {t: len(billing.events(t, user_id=CUSTOMER)) for t in staged_before} == staged_before

    roll = billing.client.get("/api/billing/reports/rent-roll", headers=billing.admin).json()["data"]
    assert {r["booking_id"]: r["tenant_name"] for r in roll} == {81: "Erased customer", 82: BRIAN["name"]}
    as_csv = billing.client.get("/api/billing/reports/rent-roll", params={"format": "csv"}, headers=billing.admin)
    assert as_csv.status_code == 200
    rows = {r["booking_id"]: r for r in csv.DictReader(io.StringIO(as_csv.text))}
    assert (rows["81"]["tenant_name"], rows["81"]["balance"]) == ("Erased customer", "3000")
    assert "Achieng" not in as_csv.text and ACHIENG["phone"] not in as_csv.text
    aging = billing.client.get("/api/billing/reports/aging", headers=billing.admin).json()["data"]
    assert {r["booking_id"]: r["tenant_name"] for r in aging["rows"]}[81] == "Erased customer"


def test_a_late_user_event_never_brings_an_erased_customer_back(start_billing):
    billing = start_billing()
    billing.bus.publish("UserRegistered", ACHIENG, source="auth")
    wait_for(lambda: _tenant(billing, CUSTOMER), what="tenant known")
    first = datetime.now(UTC).replace(microsecond=0)
    _erase(billing, CUSTOMER, first)
    erased = _tenant(billing, CUSTOMER)

    _applied(billing, billing.bus.publish("UserUpdated", {**ACHIENG, "name": "Achieng O."}, source="auth"))
    _applied(billing, billing.bus.publish("UserRegistered", ACHIENG, source="auth"))  # redelivered, replayed
    _erase(billing, CUSTOMER, first + timedelta(hours=1))  # erased again: nothing changes
    assert _tenant(billing, CUSTOMER) == erased == {"name": "Erased customer", "email": None, "phone": None,
                                                    "erased_at": first}

    # Erased before billing ever heard of the person: their registration, arriving late, is not kept either.
    _erase(billing, OTHER, first)
    _applied(billing, billing.bus.publish("UserRegistered", BRIAN, source="auth"))
    assert _tenant(billing, OTHER) == {"name": "Erased customer", "email": None, "phone": None, "erased_at": first}


def test_an_older_user_event_applied_late_never_overwrites_a_newer_one(start_billing):
    """A nak'ed and retried UserUpdated can be applied after a later one: the phone autopay uses stays the newest."""
    billing = start_billing()
    now = datetime.now(UTC)
    registered = now - timedelta(hours=2)
    _applied(billing, billing.bus.publish("UserRegistered", ACHIENG, source="auth", occurred_at=registered))
    newest = {**ACHIENG, "name": "Achieng O.", "phone": "254733000999"}
    _applied(billing, billing.bus.publish("UserUpdated", newest, source="auth", occurred_at=now))
    _applied(billing, billing.bus.publish("UserUpdated", {**ACHIENG, "phone": "254700111222"}, source="auth",
                                          occurred_at=now - timedelta(minutes=5)))
    _applied(billing, billing.bus.publish("UserRegistered", ACHIENG, source="auth", occurred_at=registered))
    assert _tenant(billing, CUSTOMER) == {"name": "Achieng O.", "email": ACHIENG["email"], "phone": "254733000999",
                                          "erased_at": None}
    # A later statement still wins.
    _applied(billing, billing.bus.publish("UserUpdated", {**newest, "phone": "254711000222"}, source="auth",
                                          occurred_at=now + timedelta(seconds=1)))
    assert _tenant(billing, CUSTOMER)["phone"] == "254711000222"
