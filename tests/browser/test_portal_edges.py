"""Edges of the portal where a page once crashed, spun for good or refused: a hand-made date in a unit's link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE


def _nairobi_today() -> datetime:
    return datetime.now(UTC) + timedelta(hours=3)


def test_a_unit_link_with_a_hand_made_date_shows_the_unit_with_the_usual_dates(
    new_page: Any, admin_api: Any
) -> None:
    unit = admin_api.unit(price=3000)
    today = _nairobi_today().date()
    page = new_page(PHONE)
    for query in ("?from=tomorrow", "?from=", "?from=2026-02-30&to=next-month&plan=fixed", "?to=soon"):
        page.goto(f"/units/{unit['id']}{query}")
        expect(page.get_by_role("heading", name=f"Unit {unit['unit_number']}"), query).to_be_visible()
        # As if the link had brought no date: from today, for 30 days.
        expect(page.get_by_label("Start date"), query).to_have_value(today.isoformat())
        expect(page.get_by_label("End date"), query).to_have_value((today + timedelta(days=30)).isoformat())
    # A real date the link brings is still taken.
    start = today + timedelta(days=3)
    page.goto(f"/units/{unit['id']}?from={start.isoformat()}")
    expect(page.get_by_label("Start date")).to_have_value(start.isoformat())
    expect(page.get_by_label("End date")).to_have_value((start + timedelta(days=30)).isoformat())
