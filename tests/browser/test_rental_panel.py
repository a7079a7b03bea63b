"""The customer's rental panel and what goes with it: money paid ahead (to the Paybill, more than the rental owes)
shows as the credit held, on the rental (with what it is for) and in the console's rent roll; turning autopay on
and off, giving notice and paying by card say so when the request fails (the network, or refused), and ordering a
truck says so when the bookings cannot be read; a Kiswahili reader reads the invoice's rent and late-fee lines in
Kiswahili."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from playwright.sync_api import expect

from jeshstack.testing import wait_for
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    admin_logs_in,
    books,
    logs_in,
    nairobi_now,
    overdue_rental,
    paid_monthly_rental,
    register_customer,
)
from tests.browser.test_paybill import _pay

NETWORK = "We could not reach Jesh Storage. Check your connection and try again."


def test_money_paid_ahead_shows_as_credit_on_the_rental_and_in_the_rent_roll(
    new_page: Any, check_page: Any, admin_api: Any, portal: str, portal_stack: Any
) -> None:
    customer = register_customer(portal)
    booking_id, _ = paid_monthly_rental(portal, admin_api, customer)
    # The first month is paid, nothing is open: money sent to the rental's Paybill account now is all paid ahead.
    _pay(str(portal_stack.simulator_url), f"JESH-{booking_id}", 1500)
    wait_for(lambda: admin_api.client.get(f"/api/billing/rentals/{booking_id}").json()["data"]["credit"] == 1500,
             timeout=60, what="KES 1,500 of credit")

    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.goto(f"/bookings/{booking_id}")
    facts = page.locator(".facts")
    expect(facts.locator("div").filter(has_text="Paid ahead")).to_contain_text("KES 1,500")
    expect(facts.locator("div").filter(has_text="Balance")).to_contain_text("KES 0")
    expect(page.locator(".rental-credit")).to_have_text(
        "KES 1,500 you paid ahead is held on your account: it pays your next invoices, and what is left when the "
        "rental ends is refunded to you.")
    check_page(page, "rental-credit-phone")

    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    desk.get_by_role("link", name="Rentals").click()
    expect(desk.get_by_role("columnheader", name="Paid ahead")).to_be_visible()
    expect(desk.locator(f'tr[data-booking-id="{booking_id}"] td[data-col="credit"]')).to_have_text("KES 1,500")


def test_autopay_and_a_move_out_notice_say_so_when_the_request_fails(
    new_page: Any, admin_api: Any, portal: str
) -> None:
    customer = register_customer(portal)
    booking_id, _ = paid_monthly_rental(portal, admin_api, customer)
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.goto(f"/bookings/{booking_id}")
    autopay = page.locator("section").filter(has=page.get_by_role("heading", name="Autopay"))
    notice = page.locator("form").filter(has=page.get_by_role("heading", name="Moving out"))

    # The network fails: each form says so (before: nothing at all, and an unhandled rejection in the page).
    page.route(re.compile(rf"/api/billing/rentals/{booking_id}/autopay$"), lambda route: route.abort())
    page.route(re.compile(rf"/api/bookings/{booking_id}/move-out$"), lambda route: route.abort())
    page.get_by_role("button", name="Turn autopay on").click()
    expect(autopay.get_by_role("alert")).to_have_text(NETWORK)
    page.get_by_role("button", name="Give notice").click()
    expect(notice.get_by_role("alert")).to_have_text(NETWORK)

    # Refused: the server's reason is shown.
    page.unroute(re.compile(rf"/api/billing/rentals/{booking_id}/autopay$"))
    page.unroute(re.compile(rf"/api/bookings/{booking_id}/move-out$"))
    page.route(re.compile(rf"/api/billing/rentals/{booking_id}/autopay$"), lambda route: route.fulfill(
        status=409, json={"success": False, "message": "Autopay cannot be changed now"}))
    page.route(re.compile(rf"/api/bookings/{booking_id}/move-out$"), lambda route: route.fulfill(
        status=409, json={"success": False, "message": "Notice cannot be given now"}))
    page.get_by_role("button", name="Turn autopay on").click()
    expect(autopay.get_by_role("alert")).to_have_text("Autopay cannot be changed now")
    page.get_by_role("button", name="Give notice").click()
    expect(notice.get_by_role("alert")).to_have_text("Notice cannot be given now")

    # And once the request goes through, the error goes.
    page.unroute(re.compile(rf"/api/billing/rentals/{booking_id}/autopay$"))
    page.get_by_role("button", name="Turn autopay on").click()
    expect(page.get_by_text("Autopay is on for 0712 345 678.")).to_be_visible()
    expect(autopay.get_by_role("alert")).to_have_count(0)


def test_paying_by_card_says_so_when_the_request_fails(new_page: Any, admin_api: Any, portal: str) -> None:
    customer = register_customer(portal)
    booking = books(portal, customer, admin_api.unit()["id"], nairobi_now() + timedelta(days=1), days=30)
    rental_id, invoice, _ = overdue_rental(portal, admin_api, customer)
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    # The network fails: the booking's and the rental's card buttons say so and can be pressed again (before: an
    # unhandled rejection, nothing shown, and the button left waiting).
    page.route(re.compile(r"/api/payments/card/initiate$"), lambda route: route.abort())
    page.goto(f"/bookings/{booking['id']}")
    page.get_by_role("button", name="Pay by card or Airtel Money").click()
    expect(page.locator(".or-card").get_by_role("alert")).to_have_text(NETWORK)
    expect(page.get_by_role("button", name="Pay by card or Airtel Money")).to_be_enabled()

    page.goto(f"/bookings/{rental_id}")
    invoices = page.locator("section").filter(has=page.get_by_role("heading", name="Invoices"))
    card = page.get_by_role("button", name=f"Pay by card {invoice['number']}")
    card.click()
    expect(invoices.get_by_role("alert")).to_have_text(NETWORK)
    expect(card).to_be_enabled()


def test_a_truck_order_says_so_when_the_bookings_cannot_be_read(new_page: Any, portal: str) -> None:
    customer = register_customer(portal)
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.route(re.compile(r"/api/bookings\?.*status=confirmed"), lambda route: route.abort())
    page.goto("/transport")
    form = page.locator("form").filter(has=page.get_by_label("For booking"))
    expect(form.get_by_role("alert")).to_have_text(NETWORK)


def test_a_kiswahili_reader_reads_the_rent_and_late_fee_lines_in_kiswahili(
    new_page: Any, admin_api: Any, portal: str
) -> None:
    customer = register_customer(portal)
    booking_id, invoice, _ = overdue_rental(portal, admin_api, customer)
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.get_by_role("button", name="Kiswahili").click()
    expect(page.locator("html")).to_have_attribute("lang", "sw")

    page.goto(f"/invoices/{invoice['id']}")
    rent = page.locator('tr[data-line-kind="rent"] td.desc')
    expect(rent).to_have_text(re.compile(r"^Kodi ya .+ 20\d\d hadi .+ 20\d\d$"))
    expect(page.locator('tr[data-line-kind="late_fee"] td.desc')).to_have_text(re.compile(r"^Ada ya kuchelewa"))
    # The dates as the page writes the invoice's period.
    period = page.locator(".invoice-facts div").filter(has_text="Kipindi").locator("dd").text_content() or ""
    start, end = period.split(" \u2013 ")  # an en dash between them
    expect(rent).to_have_text(f"Kodi ya {start} hadi {end}")

    page.goto(f"/bookings/{booking_id}")
    lines = page.locator(f'li.invoice[data-invoice="{invoice["number"]}"] .plain-list')
    expect(lines).to_contain_text(f"Kodi ya {start} hadi {end}")
    expect(lines).to_contain_text("Ada ya kuchelewa")
    expect(lines).not_to_contain_text("Rent")
