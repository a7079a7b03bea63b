"""A customer asks from their profile for their personal data to be erased (Kenya's Data Protection Act, s.40): told
what happens and what is kept, asked to confirm (dismissed: nothing is asked), then shown the day they asked; they
withdraw and ask again. An operator finds them in the directory with "Asked to be erased" (a customer who did not ask
is not listed), sees the badge and, on their page, the day they asked and what to do; once the operator has closed
the account and erased it, the request is done and no longer shown. An operator's own profile offers no request."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, admin_logs_in, register_customer


def _asked_at(portal: str, customer: dict[str, Any]) -> str | None:
    r = httpx.get(f"{portal}/api/auth/profile/erasure-request", timeout=30,
                  headers={"Authorization": f"Bearer {customer['token']}"})
    assert r.status_code == 200, r.text
    return r.json()["data"]["requested_at"]  # type: ignore[no-any-return]


def _asking(admin_api: Any) -> set[int]:
    r = admin_api.client.get("/api/auth/users", params={"erasure_requested": "true", "limit": 200})
    assert r.status_code == 200, r.text
    return {row["id"] for row in r.json()["data"]}


def test_a_customer_asks_to_be_erased_and_an_operator_finds_the_request(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    name = f"Achieng Odhiambo {uuid.uuid4().hex[:6]}"
    customer = register_customer(portal, phone=f"07{random.randrange(10**8):08d}", name=name)
    customer_id = customer["user"]["id"]
    # Registered after, so newer: on the directory's first page, where it must not be marked nor filtered in.
    bystander = register_customer(portal, phone=f"07{random.randrange(10**8):08d}",
                                  name=f"Kamau Njoroge {uuid.uuid4().hex[:6]}")
    today = (datetime.now(UTC) + timedelta(hours=3)).date()  # Nairobi's day
    asked_on = re.compile(rf"^You asked on \w+, {today.day} \w+ {today.year}$")

    page = new_page(PHONE)
    dialogs: list[str] = []
    page.goto("/login")
    page.get_by_label("Email").fill(customer["email"])
    page.get_by_label("Password").fill(customer["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/bookings$"))
    page.goto("/profile")
    card = page.get_by_role("region", name="Erase my personal data")
    expect(card).to_contain_text("Your request goes to Jesh Storage's team")
    expect(card).to_contain_text("a rental, or money owed either way")
    expect(card).to_contain_text("Your bookings, invoices, payments and receipts are kept")
    expect(card).to_contain_text("you can withdraw your request")
    ask = card.get_by_role("button", name="Ask to erase my data")

    # Asked to confirm; dismissed, nothing is asked.
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    ask.click()
    assert dialogs and dialogs[-1].startswith("Ask Jesh Storage to erase your personal data?"), dialogs
    expect(ask).to_be_visible()
    assert _asked_at(portal, customer) is None

    page.once("dialog", lambda dialog: dialog.accept())
    ask.click()
    expect(card.get_by_role("status").filter(has_text="Your request is sent to Jesh Storage's team.")).to_be_visible()
    expect(card.get_by_text(asked_on)).to_be_visible()
    expect(ask).to_have_count(0)
    check_page(page, "63-profile-erasure-asked-phone")
    assert _asked_at(portal, customer) is not None
    assert customer_id in _asking(admin_api)

    # It is the account's state: the same after a reload. Withdrawn, then asked again.
    page.reload()
    expect(card.get_by_text(asked_on)).to_be_visible()
    card.get_by_role("button", name="Withdraw my request").click()
    expect(card.get_by_role("status").filter(has_text="Your request is withdrawn")).to_be_visible()
    expect(card.get_by_text(asked_on)).to_have_count(0)
    assert _asked_at(portal, customer) is None
    assert customer_id not in _asking(admin_api)
    page.once("dialog", lambda dialog: dialog.accept())
    ask.click()
    expect(card.get_by_text(asked_on)).to_be_visible()
    assert _asked_at(portal, customer) is not None

    # The operator: the directory filtered by the request.
    desk = new_page(DESKTOP)
    desk.on("dialog", lambda dialog: dialog.accept())
    admin_logs_in(desk)
    desk.goto("/admin/customers")
    mine = desk.locator(f'tbody tr[data-customer-id="{customer_id}"]')
    other = desk.locator(f'tbody tr[data-customer-id="{bystander["user"]["id"]}"]')
    expect(other).to_be_visible()
    expect(other).not_to_contain_text("Asked to be erased")
    only_asked = desk.get_by_label("Asked to be erased")
    only_asked.click()  # not check(): the box follows the URL, which the router commits a moment later
    expect(desk).to_have_url(re.compile(r"erasure_requested=1"))
    expect(only_asked).to_be_checked()
    expect(mine).to_be_visible()
    expect(mine.locator(".badge")).to_contain_text(["Customer", "Asked to be erased"])
    expect(other).to_have_count(0)
    check_page(desk, "64-console-customers-erasure-asked-desktop")

    # Their page: the day they asked, and what to do about it.
    mine.get_by_role("link", name=name).click()
    expect(desk).to_have_url(re.compile(rf"/admin/customers/{customer_id}$"))
    facts = desk.locator(".facts")
    expect(facts.locator("div").filter(has_text="Erasure")).to_contain_text(
        re.compile(rf"Asked to be erased today, \w+, {today.day} \w+ {today.year}"))
    expect(desk.get_by_text("Settle what is live (a rental, money owed either way), close the account")).to_be_visible()
    check_page(desk, "65-console-customer-erasure-asked-desktop")

    # The operator does it (nothing is live): closed, erased; the request is done and no longer shown.
    desk.get_by_role("button", name="Close the account").click()
    expect(desk.get_by_role("status").filter(has_text=f"{name}'s account is closed.")).to_be_visible()
    desk.get_by_role("button", name="Erase personal data").click()
    desk.get_by_label("Type ERASE to confirm").fill("ERASE")
    desk.get_by_role("button", name="Erase for good").click()
    expect(desk.get_by_text(re.compile(r"^Personal data erased on "))).to_be_visible()
    expect(facts).not_to_contain_text("Asked to be erased")
    expect(desk.get_by_text("Settle what is live")).to_have_count(0)
    assert customer_id not in _asking(admin_api)
    desk.goto("/admin/customers?erasure_requested=1")
    expect(desk.get_by_role("heading", name="Customers", level=1)).to_be_visible()
    expect(mine).to_have_count(0)

    # An operator's own profile offers no request (auth would refuse it).
    desk.goto("/profile")
    expect(desk.get_by_role("heading", name="Change password")).to_be_visible()
    expect(desk.get_by_role("heading", name="Erase my personal data")).to_have_count(0)
