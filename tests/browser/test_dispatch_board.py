"""The console's dispatch board after months of trucks: every open request, the completed and cancelled ones of a
page at a time (the most recently closed first, older ones on the next page), its counts about what it shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, admin_logs_in, assert_no_sideways_scroll, register_customer

CLOSED_PAGE = 50  # web/src/pages/admin/AdminTransport.tsx
DASH = "\N{EN DASH}"


def test_the_board_shows_every_open_request_and_the_closed_ones_a_page_at_a_time(
    new_page: Any, portal: str, admin_api: Any, check_page: Any
) -> None:
    customer = register_customer(portal, name="Wanjiku Dispatch")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)

    def request(day: int) -> int:
        r = httpx.post(f"{portal}/api/transport-requests", timeout=30,
                       headers={"Authorization": f"Bearer {customer['token']}"},
                       json={"pickup_address": f"Kilimani, house {day}", "delivery_address": "Jesh Storage",
                             "distance": 4, "preferred_time": (start + timedelta(days=day)).isoformat(),
                             "items_description": "Boxes"})
        assert r.status_code == 201, r.text
        return int(r.json()["data"]["id"])

    def move(request_id: int, status: str) -> None:
        r = admin_api.client.patch(f"/api/transport-requests/{request_id}/status", json={"status": status})
        assert r.status_code == 200, r.text

    # 54 closed (days 0-53: even days completed, odd cancelled), then 2 open ones dated before all of them.
    closed = [request(day) for day in range(CLOSED_PAGE + 4)]
    for day, request_id in enumerate(closed):
        if day % 2:
            move(request_id, "cancelled")
        else:
            for status in ("scheduled", "in_progress", "completed"):
                move(request_id, status)
    waiting = request(-2)
    on_the_way = request(-1)
    move(on_the_way, "scheduled")
    move(on_the_way, "in_progress")
    latest = list(reversed(closed))  # the board's order for the closed: the last closed first (moved day by day)

    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.goto(f"/admin/transport?user_id={customer['user']['id']}")

    def column(name: str) -> Any:
        return page.get_by_role("region", name=re.compile(f"^{name}"))

    def shown_ids(name: str) -> set[int]:
        return {int(i) for i in column(name).locator("[data-request-id]").evaluate_all(
            "cards => cards.map(c => c.dataset.requestId)")}

    expect(column("Requested").locator(f'[data-request-id="{waiting}"]')).to_be_visible()
    expect(column("On the way").locator(f'[data-request-id="{on_the_way}"]')).to_be_visible()
    # The first page of the closed: the 50 latest, split by status, and the counts say so.
    expect(page.get_by_text(f"Completed and cancelled: 1{DASH}{CLOSED_PAGE}, the most recently closed first."))\
        .to_be_visible()
    first = set(latest[:CLOSED_PAGE])
    expect(column("Completed").locator("[data-request-id]")).to_have_count(25)
    assert shown_ids("Completed") | shown_ids("Cancelled") == first
    expect(column("Completed").locator(".count")).to_have_text("25")
    expect(column("Cancelled").locator(".count")).to_have_text("25")
    expect(column("Requested").locator(".count")).to_have_text("1")
    check_page(page, "dispatch-board-page-1")

    # The next page: the 4 oldest; the open requests stay on the board.
    pages = page.get_by_role("navigation", name="Pages of completed and cancelled requests")
    pages.get_by_role("button", name="Next").click()
    expect(page).to_have_url(re.compile(rf"offset={CLOSED_PAGE}"))
    expect(page.get_by_text(
        f"Completed and cancelled: {CLOSED_PAGE + 1}{DASH}{CLOSED_PAGE + 4}, the most recently closed first.")
    ).to_be_visible()
    expect(column("Cancelled").locator("[data-request-id]")).to_have_count(2)
    assert shown_ids("Completed") | shown_ids("Cancelled") == set(latest[CLOSED_PAGE:])
    expect(column("Requested").locator(f'[data-request-id="{waiting}"]')).to_be_visible()
    expect(pages.get_by_role("button", name="Next")).to_be_disabled()
    pages.get_by_role("button", name="Previous").click()
    expect(column("Completed").locator("[data-request-id]")).to_have_count(25)

    # A move whose request gets no answer (the connection dropped) says so and leaves the button to try again.
    page.route("**/api/transport-requests/*/status", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name=f"Schedule request #{waiting}").click()
    expect(page.get_by_role("alert").filter(has_text="We could not reach Jesh Storage")).to_be_visible()
    expect(page.get_by_role("button", name=f"Schedule request #{waiting}")).to_be_enabled()
    expect(column("Requested").locator(f'[data-request-id="{waiting}"]')).to_be_visible()
    page.unroute("**/api/transport-requests/*/status")
    # A move from the board: the request changes column, the board read again.
    page.get_by_role("button", name=f"Schedule request #{waiting}").click()
    expect(column("Scheduled").locator(f'[data-request-id="{waiting}"]')).to_be_visible()
    # A cancellation is final: asked first, and a "no" leaves the request where it is.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name=f"Cancel request #{on_the_way}").click()
    expect(column("On the way").locator(f'[data-request-id="{on_the_way}"]')).to_be_visible()
    assert asked == [f"Cancel transport request #{on_the_way}? A cancelled request cannot be moved again."], asked
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Cancel request #{on_the_way}").click()
    expect(column("On the way").locator(".count")).to_have_text("0")
    # Just closed, it tops the first page of the closed, though its trip is the earliest of all (it does not vanish
    # to the last page).
    expect(column("Cancelled").locator(f'[data-request-id="{on_the_way}"]')).to_be_visible()
    expect(column("Cancelled").locator("[data-request-id]").first).to_have_attribute("data-request-id",
                                                                                      str(on_the_way))

    # On a phone, in Kiswahili: the same board, nothing wider than the screen.
    phone = new_page(PHONE)
    admin_logs_in(phone)
    phone.goto(f"/admin/transport?user_id={customer['user']['id']}&offset={CLOSED_PAGE}")
    phone.get_by_role("button", name="Kiswahili").click()
    swahili = re.compile(rf"^Yaliyokamilika na yaliyoghairiwa: {CLOSED_PAGE + 1}{DASH}")
    expect(phone.get_by_text(swahili)).to_be_visible()
    assert_no_sideways_scroll(phone)
    check_page(phone, "dispatch-board-phone-sw")
