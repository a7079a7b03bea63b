"""Monthly rentals on a phone: a customer rents month to month, pays the first month, sees the gate code, turns
autopay on; once locked out for an unpaid invoice (the rental's test clock, moved by the operator) the customer
sees why, pays, and access is restored at once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from jeshstack.testing import wait_for
from tests.browser.conftest import PHONE, register_customer


def _log_in(page: Any, customer: dict[str, Any]) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(customer["email"])
    page.get_by_label("Password").fill(customer["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/bookings$"))


def test_a_locked_out_tenant_sees_why_and_pays_to_restore_access(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    unit = admin_api.unit(price=6000, size="medium")
    customer = register_customer(portal)
    page = new_page(PHONE)
    _log_in(page, customer)
    page.goto(f"/units/{unit['id']}")
    page.get_by_label("Month to month").check()
    expect(page.get_by_text("KES 6,000").first).to_be_visible()
    check_page(page, "30-unit-monthly-phone")
    page.get_by_role("button", name="Reserve and continue to payment").click()
    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    booking_id = int(page.url.rsplit("/", 1)[1])
    page.get_by_role("button", name="Pay KES 6,000").click()
    expect(page.get_by_text("Booking confirmed")).to_be_visible(timeout=30_000)

    gate = page.locator(".gate-code")
    expect(gate).to_have_text(re.compile(r"^\d{6}$"), timeout=30_000)
    page.get_by_role("button", name="Turn autopay on").click()
    expect(page.get_by_text("Autopay is on for 0712 345 678.")).to_be_visible()
    page.get_by_role("button", name="Turn autopay off").click()
    expect(page.get_by_role("button", name="Turn autopay on")).to_be_visible()
    check_page(page, "31-rental-phone")

    # The operator runs the rental's test clock 45 days on: invoice 2 is unpaid 15 days past due, access suspended.
    today = (datetime.now(UTC) + timedelta(hours=3)).date()
    r = admin_api.client.post(f"/api/billing/rentals/{booking_id}/advance",
                              json={"to": (today + timedelta(days=45)).isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["access"] == "suspended"
    page.reload()
    expect(page.get_by_role("alert").filter(has_text="Access suspended")).to_be_visible()
    expect(page.locator(".gate-code")).to_have_class(re.compile("suspended"))
    check_page(page, "32-rental-locked-out-phone")

    for _ in range(3):  # every open invoice, oldest first
        pay = page.get_by_role("button", name=re.compile(r"^Pay now"))
        if pay.count() == 0:
            break
        pay.first.click()
        page.get_by_role("button", name=re.compile(r"^Pay KES")).click()
        expect(page.get_by_text("Payment received")).to_be_visible(timeout=30_000)
        page.reload()

    def restored() -> bool:
        account = admin_api.client.get(f"/api/billing/rentals/{booking_id}").json()["data"]
        return account["access"] == "active" and account["delinquency_stage"] == "current"

    wait_for(restored, timeout=30, what="access restored")
    page.reload()
    expect(page.get_by_role("alert").filter(has_text="Access suspended")).to_have_count(0)
    expect(page.get_by_text("In good standing")).to_be_visible()

    # Moving out: notice given for a date after today.
    page.get_by_label("Move-out date").fill((today + timedelta(days=70)).isoformat())
    page.get_by_role("button", name="Give notice").click()
    expect(page.get_by_text("Notice received.")).to_be_visible()

