"""The console's tables on a desktop: a row's buttons are in sight, not past the table's right edge (the table scrolls
sideways only when it must, and an operator does not look there for the button that cancels a booking)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, admin_logs_in, books, nairobi_now, register_customer


def test_a_pending_bookings_buttons_are_in_sight_on_a_desktop(new_page: Any, portal: str, admin_api: Any) -> None:
    customer = register_customer(portal, name="Nyokabi Wanjiru-Kamau")
    unit = admin_api.unit(price=4800, size="medium")
    booking = books(portal, customer, unit["id"], nairobi_now() + timedelta(days=12), days=10)
    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.goto(f"/admin/bookings?user_id={customer['user']['id']}")
    wrap = page.get_by_role("region", name="Bookings")
    for name in (f"Send M-PESA prompt for booking #{booking['id']}", f"Cancel booking {booking['id']}"):
        button = wrap.get_by_role("button", name=name)
        expect(button).to_be_visible()
        box, frame = button.bounding_box(), wrap.bounding_box()
        assert box and frame and box["x"] + box["width"] <= frame["x"] + frame["width"], (name, box, frame)


# The console's sections that show a table with the data this test makes (the others show theirs once they have rows).
TABLE_PAGES = ("units", "bookings", "customers", "audit")


def test_the_consoles_tables_fit_a_desktop_in_kiswahili_too(new_page: Any, portal: str, admin_api: Any) -> None:
    """Kiswahili's words are longer than English's ("Jumatatu, 28 Des 2026", "KIASI KILICHOPOKELEWA"): kept on one
    line, the headings and the bookings' dates pushed the tables past a desktop's width, and an operator scrolled the
    bookings and the audit log sideways (56 and 61 px)."""
    customer = register_customer(portal, name="Nyokabi Wanjiru-Kamau")
    unit = admin_api.unit(price=4800, size="medium")
    books(portal, customer, unit["id"], nairobi_now() + timedelta(days=12), days=10)
    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.get_by_role("button", name="Kiswahili").click()
    expect(page.locator("html")).to_have_attribute("lang", "sw")
    wider: dict[str, list[int]] = {}
    for path in TABLE_PAGES:
        page.goto(f"/admin/{path}")
        tables = page.locator(".table-wrap")
        expect(tables.locator("tbody tr").first).to_be_visible()
        overflow = tables.evaluate_all("(all) => all.map((wrap) => wrap.scrollWidth - wrap.clientWidth)")
        if any(extra > 1 for extra in overflow):
            wider[path] = overflow
    assert wider == {}, wider
