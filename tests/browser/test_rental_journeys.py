"""Monthly rentals on a phone: a customer rents month to month, pays the first month, sees the gate code, turns
autopay on and off; once locked out for an unpaid invoice (the rental's test clock, moved by the operator) the
customer sees why, pays the overdue invoice by card on Pesapal's page (its simulator) and the others with the Daraja
simulator, and sees access restored; the operator sees the rental's stage."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from jeshstack.testing import wait_for
from tests.browser.conftest import DESKTOP, PHONE, admin_logs_in, logs_in, register_customer


def test_a_locked_out_tenant_sees_why_and_pays_to_restore_access(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    unit = admin_api.unit(price=6000, size="medium")
    customer = register_customer(portal)
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.goto(f"/units/{unit['id']}")
    page.get_by_label("Month to month").check()
    expect(page.locator(".quote")).to_contain_text("KES 6,000")
    expect(page.locator(".quote")).to_contain_text("You pay the first month now;")  # the desk's says "The customer"
    check_page(page, "30-unit-monthly-phone")
    page.get_by_role("button", name="Reserve and continue to payment").click()
    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    booking_id = int(page.url.rsplit("/", 1)[1])
    page.get_by_role("button", name="Pay KES 6,000").click()
    expect(page.get_by_text("Booking confirmed")).to_be_visible(timeout=30_000)

    # Billing opens the rental when it hears of the confirmation: the page keeps looking until it shows.
    expect(page.locator(".gate-code")).to_have_text(re.compile(r"^\d{6}$"), timeout=30_000)
    page.get_by_role("button", name="Turn autopay on").click()
    expect(page.get_by_text("Autopay is on for 0712 345 678.")).to_be_visible()
    page.get_by_role("button", name="Turn autopay off").click()
    expect(page.get_by_role("button", name="Turn autopay on")).to_be_visible()
    check_page(page, "31-rental-phone")

    # The operator runs the rental's test clock 45 days on: invoice 2 is unpaid past the lock-out day (10 days
    # past due by default), so access is suspended.
    today = (datetime.now(UTC) + timedelta(hours=3)).date()
    r = admin_api.client.post(f"/api/billing/rentals/{booking_id}/advance",
                              json={"to": (today + timedelta(days=45)).isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["access"] == "suspended"
    page.reload()
    suspended = page.get_by_role("alert").filter(has_text="Access suspended")
    expect(suspended).to_be_visible()
    expect(suspended).to_contain_text(re.compile(r"Invoice INV-\d+ is \d+ days overdue\."))
    expect(page.locator(".gate-code")).to_have_class(re.compile("suspended"))
    expect(page.get_by_text("Locked out")).to_be_visible()
    check_page(page, "32-rental-locked-out-phone")

    # The operator's console lists the rental as locked out.
    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    desk.get_by_role("link", name="Rentals").click()
    desk.get_by_label("Stage").select_option("locked_out")
    expect(desk.locator(f'tr[data-booking-id="{booking_id}"]')).to_contain_text("Locked out")
    expect(desk.locator(f'tr[data-booking-id="{booking_id}"]')).to_contain_text("Suspended")
    check_page(desk, "33-console-rentals-desktop")
    desk.get_by_role("link", name="Invoices").click()
    desk.get_by_label("Status").select_option("open")
    # The filters live in the URL, which React Router updates in a transition: the checkbox shows its new state
    # when that commits, so wait for it rather than insist at once (check() does, and fails on a busy machine).
    desk.get_by_label("Overdue only").click()
    expect(desk.get_by_label("Overdue only")).to_be_checked()
    expect(desk).to_have_url(re.compile(r"status=open.*overdue=true|overdue=true.*status=open"))
    expect(desk.locator("tbody tr").filter(has_text=f"#{booking_id}").first).to_contain_text("days overdue")
    check_page(desk, "34-console-invoices-desktop")

    # The customer pays every open invoice, oldest first: the overdue one by card on Pesapal's page (the simulator),
    # which sends the customer back to the rental, the others by M-PESA; the page follows each until billing records
    # it, and names every invoice paid so far.
    def number_on(button: Any) -> str:
        found = re.search(r"INV-\S+", button.text_content() or "")
        assert found, button.text_content()
        return found.group(0)

    card = page.get_by_role("button", name=re.compile(r"^Pay by card INV-")).first
    paid = [number_on(card)]
    card.click()
    page.get_by_label("Card number").fill("4111111111111111")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/bookings/{booking_id}\?invoice_paid=\d+$"), timeout=30_000)
    thanks = page.get_by_text(re.compile(r"^Thank you: INV-"))
    expect(thanks).to_contain_text(paid[0], timeout=60_000)
    for _ in range(3):
        pay = page.get_by_role("button", name=re.compile(r"^Pay now INV-"))
        if pay.count() == 0:
            break
        paid.append(number_on(pay.first))
        pay.first.click()
        page.get_by_role("button", name=re.compile(r"^Pay KES")).click()
        for number in paid:
            expect(thanks).to_contain_text(number, timeout=60_000)

    def restored() -> bool:
        account = admin_api.client.get(f"/api/billing/rentals/{booking_id}").json()["data"]
        return bool(account["access"] == "active" and account["delinquency_stage"] == "current")

    wait_for(restored, timeout=30, what="access restored")
    expect(page.get_by_role("alert").filter(has_text="Access suspended")).to_have_count(0, timeout=30_000)
    expect(page.get_by_text("In good standing")).to_be_visible()
    expect(page.locator(".gate-code")).not_to_have_class(re.compile("suspended"))
    check_page(page, "35-rental-restored-phone")

    # Moving out: notice given for a date after today.
    page.get_by_label("Move-out date").fill((today + timedelta(days=70)).isoformat())  # billing's end_date below
    page.get_by_role("button", name="Give notice").click()
    expect(page.get_by_text("Notice received.")).to_be_visible()
    move_out = (today + timedelta(days=70)).isoformat()
    # booking took the notice; billing hears of it by an event (a busy machine once advanced the clock before that)
    wait_for(lambda: admin_api.client.get(f"/api/billing/rentals/{booking_id}").json()["data"]["end_date"]
             == move_out, timeout=30, what="billing to hear of the notice")
    # The page follows without a reload (before: it read the account once, before billing had heard, and kept
    # offering the notice form): the move-out date shown, the form gone.
    expect(page.get_by_role("button", name="Give notice")).to_have_count(0, timeout=15_000)

    # The operator's clock passes the move-out day: the rental has ended, its gate code (which opens nothing now) is
    # no longer shown, nor autopay or a move-out form.
    r = admin_api.client.post(f"/api/billing/rentals/{booking_id}/advance",
                              json={"to": (today + timedelta(days=71)).isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "ended"
    page.reload()
    expect(page.get_by_text("This rental has ended")).to_be_visible()
    expect(page.locator(".gate-code")).to_have_count(0)
    expect(page.get_by_role("heading", name="Autopay")).to_have_count(0)
    expect(page.get_by_role("button", name="Give notice")).to_have_count(0)
    check_page(page, "36-rental-ended-phone")
