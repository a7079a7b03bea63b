"""The operator console erases a closed customer's personal data (Kenya's Data Protection Act, s.40): not offered
while the account is open; refused, with the reason listed, while a booking is still awaiting payment; once that
booking is cancelled, erased after typing ERASE: the page shows the placeholder name and address, the date it was
erased, and no longer offers to edit, change the role, reopen or erase; the directory marks it erased."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, admin_logs_in, register_customer


def test_an_operator_erases_a_closed_customers_personal_data_once_nothing_is_live(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    name = f"Njeri Mwangi {uuid.uuid4().hex[:6]}"
    customer = register_customer(portal, phone="0733 444 555", name=name)
    customer_id = customer["user"]["id"]
    # A booking awaiting payment (its hold runs for minutes here): something that still needs the person.
    unit = admin_api.unit(price=2900, size="small")
    start = (datetime.now(UTC) + timedelta(hours=3)).date() + timedelta(days=1)
    r = httpx.post(f"{portal}/api/bookings", headers={"Authorization": f"Bearer {customer['token']}"}, timeout=30,
                   json={"unit_id": unit["id"], "start_date": start.isoformat(),
                         "end_date": (start + timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    booking_id = r.json()["data"]["id"]

    page = new_page(DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    admin_logs_in(page)
    page.goto(f"/admin/customers/{customer_id}")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    # Open: not offered, and the operator is told why.
    expect(page.get_by_role("button", name="Erase personal data")).to_have_count(0)
    expect(page.get_by_text("To erase this customer's personal data, close the account first.")).to_be_visible()

    page.get_by_role("button", name="Close the account").click()
    expect(page.get_by_role("status").filter(has_text=f"{name}'s account is closed.")).to_be_visible()
    expect(page.get_by_text("close the account first")).to_have_count(0)

    # The confirmation says what goes and what stays, and wants the word typed.
    page.get_by_role("button", name="Erase personal data").click()
    form = page.get_by_role("form", name=f"Erase {name}'s personal data")
    expect(form).to_contain_text("messages sent to them")
    expect(form).to_contain_text(f"kept (the law asks for them) under account #{customer_id}")
    expect(form).to_contain_text("This cannot be undone.")
    confirm = form.get_by_role("button", name="Erase for good")
    expect(confirm).to_be_disabled()
    word = form.get_by_label("Type ERASE to confirm")
    word.fill("erase")
    expect(confirm).to_be_disabled()
    word.fill("ERASE")
    expect(confirm).to_be_enabled()

    # Refused while the booking awaits payment: the reason is listed, nothing is erased.
    confirm.click()
    refusal = form.get_by_role("alert")
    expect(refusal).to_contain_text("The customer's personal data cannot be erased yet:")
    expect(refusal.get_by_role("listitem")).to_have_text(
        [f"Booking: booking {booking_id} (unit {unit['unit_number']}) is awaiting payment"])
    expect(refusal).to_contain_text("then erase again")
    check_page(page, "58-console-customer-erase-refused-desktop")
    account = admin_api.client.get(f"/api/auth/users/{customer_id}").json()["data"]
    assert account["name"] == name and account["erased_at"] is None

    # The operator settles it (the booking cancelled) and erases.
    assert admin_api.client.post(f"/api/bookings/{booking_id}/cancel").status_code == 200
    confirm.click()
    expect(page.get_by_role("status").filter(has_text=f"The personal data of customer #{customer_id} is erased.")) \
        .to_be_visible()
    expect(page.get_by_role("heading", name="Erased customer", level=1)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Personal data erased on "))).to_be_visible()
    facts = page.locator(".facts")
    expect(facts).to_contain_text(f"erased-{customer_id}@erased.invalid")
    expect(facts).not_to_contain_text("0733 444 555")
    expect(form).to_have_count(0)
    for gone in ("Correct the details", "Make admin", "Reopen the account", "Erase personal data"):
        expect(page.get_by_role("button", name=gone)).to_have_count(0)
    check_page(page, "59-console-customer-erased-desktop")
    account = admin_api.client.get(f"/api/auth/users/{customer_id}").json()["data"]
    assert account["erased_at"] is not None and account["phone"] is None

    # The same after a reload (it is the account's state, not the page's), and the directory marks it.
    page.reload()
    expect(page.get_by_text(re.compile(r"^Personal data erased on "))).to_be_visible()
    expect(page.get_by_role("button", name="Reopen the account")).to_have_count(0)
    # After a restore from an older backup: every service is told again (auth publishes CustomerErased again).
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Tell every service again").click()
    expect(page.get_by_role("status").filter(has_text="Every service has been told again to forget this customer.")) \
        .to_be_visible()
    assert admin_api.client.get(f"/api/auth/users/{customer_id}").json()["data"]["erased_at"] == account["erased_at"]
    page.goto(f"/admin/customers?q=erased-{customer_id}@")
    row = page.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Erased customer")
    expect(row).to_contain_text("Erased")
    expect(row).not_to_contain_text("Closed")
