"""The console when a request gets no answer (the connection dropped on the way): the action says so ("We could not
reach Jesh Storage") and can be tried again, instead of a rejected promise that left its button busy and the page
silent."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, admin_logs_in

OFFLINE = "We could not reach Jesh Storage"


def test_opening_an_account_without_an_answer_says_so_and_can_be_tried_again(new_page: Any) -> None:
    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.goto("/admin/customers")
    page.get_by_text("Open an account for a customer").click()
    page.get_by_label("Full name", exact=True).fill("Otieno Offline")
    page.get_by_label("Email", exact=True).fill("otieno.offline@example.co.ke")
    page.get_by_label("Phone number", exact=True).fill("0711 222 333")
    page.route("**/api/auth/users", lambda route: route.abort("internetdisconnected")
               if route.request.method == "POST" else route.continue_())
    page.get_by_role("button", name="Open the account").click()
    expect(page.get_by_role("alert").filter(has_text=OFFLINE)).to_be_visible()
    expect(page.get_by_role("button", name="Open the account")).to_be_enabled()


def test_a_new_unit_without_an_answer_says_so(new_page: Any) -> None:
    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.get_by_text(re.compile("^Add a unit")).click()
    page.get_by_label("Unit number").fill("Z-OFF1")
    page.get_by_label("Dimensions").fill("2m x 2m x 2m")
    page.get_by_label("Monthly price (KES)").fill("3000")
    page.route("**/api/units", lambda route: route.abort("internetdisconnected")
               if route.request.method == "POST" else route.continue_())
    page.get_by_role("button", name="Create unit").click()
    expect(page.get_by_role("alert").filter(has_text=OFFLINE)).to_be_visible()
