"""Payments' refusals on the console's Money page, in Kiswahili: an operator who reads the console in Kiswahili takes
cash for a booking that was cancelled, then banks more than the drawer should hold; both refusals are said in
Kiswahili with the values payments gave (the booking's account number, the drawer's amount), not in English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, admin_logs_in, register_customer


def test_payments_refusals_are_said_in_kiswahili(new_page: Any, check_page: Any, admin_api: Any, portal: str) -> None:
    # A booking cancelled before it was paid: its account number no longer takes money.
    unit = admin_api.unit(price=3900)
    customer = register_customer(portal, name="Baraka Mwangi")
    today = (datetime.now(UTC) + timedelta(hours=3)).date()
    r = httpx.post(f"{portal}/api/bookings", timeout=30, headers={"Authorization": f"Bearer {customer['token']}"},
                   json={"unit_id": unit["id"], "start_date": today.isoformat(),
                         "end_date": (today + timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    booking = r.json()["data"]
    assert admin_api.client.post(f"/api/bookings/{booking['id']}/cancel").status_code == 200

    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    desk.get_by_role("link", name="Money").click()
    desk.get_by_role("button", name="Kiswahili").click()
    expect(desk.locator("html")).to_have_attribute("lang", "sw")
    section = desk.get_by_role("region", name="Pesa taslimu ofisini")

    # Cash for the cancelled booking, at its full price (confirmed first, in Kiswahili): payments refuses, the console
    # says why in Kiswahili.
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    desk.on("dialog", accept)
    form = section.get_by_role("form", name="Rekodi pesa taslimu zilizopokelewa")
    form.get_by_label("Nambari ya akaunti").fill(f"JESH-{booking['id']}")
    form.get_by_label("Kiasi kilichopokelewa (KES)").fill(str(booking["total_price"]))
    form.get_by_role("button", name="Rekodi malipo ya pesa taslimu").click()
    expect(form.get_by_role("alert")).to_have_text(
        f"Nafasi JESH-{booking['id']} imeghairiwa, kwa hivyo haiwezi kupokea pesa hii. Weka nafasi mpya.")
    assert dialogs == [f"Rekodi KES {booking['total_price']:,} zilizopokelewa taslimu kwa akaunti "
                       f"JESH-{booking['id']}? Ni malipo ya mteja: anapata risiti kwa SMS."], dialogs

    # Banking one shilling more than the drawer should hold (confirmed first): refused with the drawer's amount.
    r = admin_api.client.get("/api/payments/cash")
    assert r.status_code == 200, r.text
    closing = int(r.json()["data"]["closing"])
    move_form = section.get_by_role("form", name="Weka benki au weka chenji ya droo")
    move_form.get_by_label("Weka benki", exact=True).check()
    move_form.get_by_label("Kiasi (KES)").fill(str(closing + 1))
    move_form.get_by_role("button", name="Rekodi pesa zilizowekwa benki").click()
    expect(move_form.get_by_role("alert")).to_have_text(
        f"Huwezi kuweka benki zaidi ya kile droo inapaswa kuwa nacho (KES {closing:,}).")
    check_page(desk, "97-console-cash-refused-sw-desktop")
