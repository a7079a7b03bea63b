"""Collections at the desk: an operator sends the M-PESA prompt to a customer's phone from the console (the number on
record prefilled), for a pending booking in the bookings table and for an open invoice in the invoices table and on
the invoice's page; the console follows the payment to the customer's receipt and shows the row paid, or shows why
M-PESA did not take it (a phone ending in 1032: the customer cancelled the prompt). A walk-in customer is booked at
the desk from their page in the console, then prompted there; another pays the booking in cash there instead."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, admin_logs_in, overdue_rental, register_customer

CANCELS = "0712341032"  # the Daraja simulator: "Request cancelled by user"
CANCELLED = "The payment was cancelled by the user"  # payments' words for it


def kes(amount: int) -> str:
    return f"KES {amount:,}"


def test_an_operator_prompts_a_customer_to_pay_a_pending_booking(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    unit = admin_api.unit(price=3500, size="small")
    customer = register_customer(portal, phone="0712345678", name="Wanjiru Kamau")
    mine = httpx.Client(base_url=portal, headers={"Authorization": f"Bearer {customer['token']}"}, timeout=30)
    start = (datetime.now(UTC) + timedelta(hours=3)).date() + timedelta(days=1)
    r = mine.post("/api/bookings", json={"unit_id": unit["id"], "start_date": start.isoformat(),
                                         "end_date": (start + timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    booking = r.json()["data"]
    assert booking["status"] == "pending" and booking["total_price"] == 3500

    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    desk.goto(f"/admin/bookings?user_id={customer['user']['id']}")
    row = desk.get_by_role("row").filter(has=desk.get_by_role("rowheader", name=str(booking["id"]), exact=True))
    expect(row).to_contain_text("Pending")
    desk.get_by_role("button", name=f"Send M-PESA prompt for booking #{booking['id']}").click()
    panel = desk.get_by_role("region", name=f"M-PESA prompt for booking #{booking['id']} · Wanjiru Kamau")
    expect(panel).to_contain_text("KES 3,500 — the customer enters their M-PESA PIN")
    expect(panel.get_by_label("Customer's M-PESA number")).to_have_value("0712 345 678")  # the number on record
    check_page(desk, "70-console-booking-prompt-desktop")

    panel.get_by_role("button", name="Send", exact=True).click()
    expect(panel.get_by_role("status").filter(has_text="Prompt sent to 0712 345 678.")).to_contain_text(
        "The customer has about a minute to enter their PIN.")
    paid = panel.get_by_role("status").filter(has_text="Payment received")
    expect(paid).to_contain_text(re.compile(r"M-PESA receipt \w+\. The payment is on the customer's account\."))
    receipt = re.search(r"M-PESA receipt (\w+)\.", paid.inner_text())
    assert receipt, paid.inner_text()
    # The row is read again until booking has confirmed it; there is nothing left to prompt for.
    expect(row).to_contain_text("Confirmed")
    expect(row).to_contain_text("Paid")
    expect(row.get_by_role("button", name=re.compile("^Send M-PESA prompt"))).to_have_count(0)
    check_page(desk, "71-console-booking-prompted-desktop")

    # The payment is the customer's: their booking is paid with that receipt.
    status = mine.get(f"/api/payments/status/{booking['id']}").json()["data"]
    assert (status["status"], status["transaction_code"], status["amount"]) == ("success", receipt[1], 3500)
    mine.close()


def test_an_operator_prompts_for_an_open_invoice_and_sees_why_it_failed(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    # The tenant's phone on record is one whose prompts the customer cancels.
    customer = register_customer(portal, phone=CANCELS, name="Kiprono Chebet")
    _booking_id, invoice, _first = overdue_rental(portal, admin_api, customer)
    number, balance = invoice["number"], invoice["balance"]

    # On the invoice's page: the number on record is prompted, and the customer cancels it.
    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    desk.goto(f"/invoices/{invoice['id']}")
    collect = desk.get_by_role("region", name="Collect by M-PESA")
    collect.get_by_role("button", name="Send M-PESA prompt").click()
    panel = desk.get_by_role("region", name=f"M-PESA prompt for invoice {number} · Kiprono Chebet")
    expect(panel).to_contain_text(f"{kes(balance)} — the customer enters their M-PESA PIN")
    expect(panel.get_by_label("Customer's M-PESA number")).to_have_value("0712 341 032")
    panel.get_by_role("button", name="Send", exact=True).click()
    failed = panel.get_by_role("alert").filter(has_text="The payment did not go through")
    expect(failed).to_contain_text(CANCELLED)
    expect(failed).to_contain_text("Check the number with the customer, then send again.")
    expect(panel.get_by_role("button", name="Send again")).to_be_enabled()
    check_page(desk, "72-invoice-prompt-failed-desktop")
    desk.get_by_role("button", name="Kiswahili").click()
    ombi = desk.get_by_role("region", name=f"Ombi la M-PESA kwa ankara {number} · Kiprono Chebet")
    expect(ombi.get_by_role("alert")).to_contain_text("Malipo hayakufanikiwa")
    expect(ombi).to_contain_text(f"{kes(balance)} — mteja anaweka PIN yake ya M-PESA")
    expect(ombi.get_by_label("Nambari ya M-PESA ya mteja")).to_have_value("0712 341 032")
    expect(ombi.get_by_role("button", name="Tuma tena")).to_be_visible()
    desk.get_by_role("button", name="English").click()

    # In the console's invoices: the invoice is still open; the operator sends the prompt to another number of the
    # customer's, which pays, and the row shows the invoice paid.
    desk.goto(f"/admin/invoices?user_id={customer['user']['id']}")
    row = desk.locator(f'tr[data-invoice-id="{invoice["id"]}"]')
    expect(row).to_contain_text("Open")
    row.get_by_role("button", name=f"Send M-PESA prompt for invoice {number}").click()
    panel = desk.get_by_role("region", name=f"M-PESA prompt for invoice {number} · Kiprono Chebet")
    phone = panel.get_by_label("Customer's M-PESA number")
    expect(phone).to_have_value("0712 341 032")
    phone.fill("0812 345 678")  # not a Kenyan mobile number: refused before anything is sent
    panel.get_by_role("button", name="Send", exact=True).click()
    expect(panel.get_by_text("Enter a Kenyan mobile number such as 0712 345 678.")).to_be_visible()
    phone.fill("0722 345 678")
    panel.get_by_role("button", name="Send", exact=True).click()
    expect(panel.get_by_role("status").filter(has_text="Prompt sent to 0722 345 678.")).to_be_visible()
    expect(panel.get_by_role("status").filter(has_text="Payment received")).to_contain_text(
        re.compile(r"M-PESA receipt \w+"))
    expect(row).to_contain_text("Paid")
    expect(row.locator("td").nth(4)).to_have_text("KES 0")  # the balance
    expect(panel).to_contain_text(f"{kes(balance)} — the customer enters their M-PESA PIN")  # what was asked
    check_page(desk, "73-console-invoice-prompted-desktop")
    rows = admin_api.client.get("/api/invoices", params={"user_id": customer["user"]["id"]}).json()["data"]
    paid = next(i for i in rows if i["id"] == invoice["id"])
    assert paid["status"] == "paid" and [p["method"] for p in paid["payments"]] == ["mpesa"], paid


def booking_made(booked: Any) -> int:
    """The id in the console's "Booking #N made" line."""
    made = re.search(r"Booking #(\d+)", booked.inner_text())
    assert made, booked.inner_text()
    return int(made[1])


def payment_status(portal: str, customer: dict[str, Any], booking_id: int) -> dict[str, Any]:
    """The booking's payment as its customer reads it (the compat status route, with their own token)."""
    with httpx.Client(base_url=portal, timeout=30, headers={"Authorization": f"Bearer {customer['token']}"}) as mine:
        return dict(mine.get(f"/api/payments/status/{booking_id}").json()["data"])


def test_an_operator_books_a_unit_for_a_walk_in_customer_and_collects_by_prompt(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    unit = admin_api.unit(price=4800, size="small")
    customer = register_customer(portal, phone="0722456789", name="Baraka Mwangi")
    customer_id = customer["user"]["id"]

    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    desk.goto(f"/admin/customers/{customer_id}")
    expect(desk.get_by_role("heading", name="Baraka Mwangi", level=1)).to_be_visible()
    form = desk.get_by_role("form", name="Book a unit for this customer")
    form.get_by_label("Unit", exact=True).select_option(label=f"{unit['unit_number']} · Small · KES 4,800 / month")
    # The quote as the portal shows it, but worded for the operator: about the customer, not to them.
    form.get_by_label("How long?").select_option(label="Fixed dates")
    expect(form.locator(".quote")).to_contain_text("shown before the customer pays.")
    form.get_by_label("How long?").select_option(label="Month to month")
    expect(form.get_by_label("End date")).to_have_count(0)  # month to month: open-ended
    expect(form.locator(".quote")).to_contain_text("KES 4,800 / month")  # the unit's rent, as the portal quotes it
    expect(form.locator(".quote")).to_contain_text("The customer pays the first month now;")
    expect(form.locator(".quote")).not_to_contain_text("You pay")
    check_page(desk, "74-console-desk-booking-desktop")
    form.get_by_role("button", name="Book for the customer").click()

    booked = desk.get_by_role("status").filter(has_text=re.compile(r"Booking #\d+ made: unit "))
    expect(booked).to_contain_text(f"unit {unit['unit_number']}")
    expect(booked).to_contain_text("Pending")
    expect(booked).to_contain_text("Until the customer moves out")
    booking_id = booking_made(booked)
    # The booking is the customer's own.
    rows = admin_api.client.get("/api/bookings", params={"user_id": customer_id}).json()["data"]
    assert [(b["id"], b["unit_id"], b["plan"], b["total_price"]) for b in rows] == [
        (booking_id, unit["id"], "monthly", 4800)], rows
    # The unit is no longer offered.
    expect(form.get_by_label("Unit", exact=True).locator("option", has_text=unit["unit_number"])).to_have_count(0)

    # The prompt panel opens at once for it, with the number on record.
    panel = desk.get_by_role("region", name=f"M-PESA prompt for booking #{booking_id} · Baraka Mwangi")
    expect(panel).to_contain_text("KES 4,800 — the customer enters their M-PESA PIN")
    expect(panel.get_by_label("Customer's M-PESA number")).to_have_value("0722 456 789")
    panel.get_by_role("button", name="Send", exact=True).click()
    expect(panel.get_by_role("status").filter(has_text="Prompt sent to 0722 456 789.")).to_be_visible()
    paid = panel.get_by_role("status").filter(has_text="Payment received")
    expect(paid).to_contain_text(re.compile(r"M-PESA receipt \w+"))
    receipt = re.search(r"M-PESA receipt (\w+)\.", paid.inner_text())
    assert receipt, paid.inner_text()
    expect(booked).to_contain_text("Confirmed")  # read again until booking has confirmed it
    check_page(desk, "75-console-desk-booking-paid-desktop")

    desk.get_by_role("button", name="Kiswahili").click()
    expect(desk.get_by_role("heading", name="Mkodishie mteja huyu chumba")).to_be_visible()
    nafasi = desk.get_by_role("status").filter(has_text=f"Nafasi #{booking_id} imewekwa")
    expect(nafasi).to_contain_text("Imethibitishwa")
    expect(nafasi).to_contain_text("Hadi mteja atakapohama")
    desk.get_by_role("button", name="English").click()

    # The customer's booking is confirmed and paid with that receipt.
    rows = admin_api.client.get("/api/bookings", params={"user_id": customer_id}).json()["data"]
    assert [(b["id"], b["status"], b["payment_status"]) for b in rows] == [(booking_id, "confirmed", "success")], rows
    status = payment_status(portal, customer, booking_id)
    assert (status["status"], status["transaction_code"], status["amount"]) == ("success", receipt[1], 4800)


def test_an_operator_books_a_unit_for_a_walk_in_customer_who_pays_in_cash(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    unit = admin_api.unit(price=4500, size="small")
    customer = register_customer(portal, phone="0722456780", name="Zawadi Njeri")
    customer_id = customer["user"]["id"]

    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    desk.goto(f"/admin/customers/{customer_id}")
    form = desk.get_by_role("form", name="Book a unit for this customer")
    form.get_by_label("Unit", exact=True).select_option(label=f"{unit['unit_number']} · Small · KES 4,500 / month")
    form.get_by_role("button", name="Book for the customer").click()
    booked = desk.get_by_role("status").filter(has_text=re.compile(r"Booking #\d+ made: unit "))
    expect(booked).to_contain_text("Pending")
    booking_id = booking_made(booked)
    prompt = desk.get_by_role("region", name=f"M-PESA prompt for booking #{booking_id} · Zawadi Njeri")
    expect(prompt).to_be_visible()

    # Beside the prompt: the customer hands over the booking's price in notes; the operator confirms the amount.
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    desk.once("dialog", accept)
    desk.get_by_role("button", name="Paid in cash").click()
    received = desk.get_by_role("status").filter(has_text="in cash, receipt")
    expect(received).to_have_text(re.compile(r"^Received KES 4,500 in cash, receipt CASH-\d+\.$"))
    assert len(asked) == 1 and "KES 4,500" in asked[0] and f"booking #{booking_id}" in asked[0], asked
    receipt = re.search(r"receipt (CASH-\d+)\.", received.inner_text())
    assert receipt, received.inner_text()
    # Paid: the prompt and both ways to pay are gone, and the booking is read again until booking confirms it.
    expect(prompt).to_have_count(0)
    expect(desk.get_by_role("button", name="Paid in cash")).to_have_count(0)
    expect(desk.get_by_role("button", name=f"Send M-PESA prompt for booking #{booking_id}")).to_have_count(0)
    expect(booked).to_contain_text("Confirmed")
    check_page(desk, "76-console-desk-booking-cash-desktop")
    desk.get_by_role("button", name="Kiswahili").click()
    expect(desk.get_by_role("status").filter(has_text="taslimu")).to_have_text(
        f"Imepokelewa KES 4,500 taslimu, risiti {receipt[1]}.")
    desk.get_by_role("button", name="English").click()

    # The customer's booking is confirmed, paid in cash with that receipt.
    rows = admin_api.client.get("/api/bookings", params={"user_id": customer_id}).json()["data"]
    assert [(b["id"], b["status"], b["payment_status"]) for b in rows] == [(booking_id, "confirmed", "success")], rows
    status = payment_status(portal, customer, booking_id)
    assert (status["status"], status["transaction_code"], status["amount"]) == ("success", receipt[1], 4500), status
