"""Cash at the desk: a customer books a unit on the portal and pays it in notes at the office. The operator records it
in the console: a wrong amount first (payments' refusal is shown), then the right one, whose answer is lost on the
way back (the network drops it): sent again, it keeps its Idempotency-Key and is recorded once. The receipt shows,
the day's cash book lists it with the totals, and the customer's booking page shows the booking confirmed with the
cash receipt. The operator counts the drawer: KES 200 short first, then counted again, it matches the book. The booking
is then cancelled: its refund is "Paid back in cash" from the console, the cash book shows it paid back (and that the
book changed since the count) and the customer reads that the money was paid back in cash at the office."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import Route, expect

from jeshstack.testing import wait_for
from tests.browser.conftest import DESKTOP, PHONE, admin_logs_in, logs_in, register_customer

PRICE = 4500


def kes(amount: int) -> str:
    return f"KES {amount:,}"


def _cash_book(admin: Any) -> dict[str, Any]:
    r = admin.client.get("/api/payments/cash")
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def test_an_operator_takes_cash_for_a_booking_and_pays_it_back(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    unit = admin_api.unit(price=PRICE)
    customer = register_customer(portal, name="Mwanaisha Hamisi")
    mine = httpx.Client(base_url=portal, headers={"Authorization": f"Bearer {customer['token']}"}, timeout=30)

    # The customer books on the portal; the booking waits for its payment.
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.goto(f"/units/{unit['id']}")
    page.get_by_role("button", name="Reserve and continue to payment").click()
    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    booking_id = int(page.url.rsplit("/", 1)[1])
    booking = next(b for b in mine.get("/api/bookings").json()["data"] if b["id"] == booking_id)
    assert (booking["status"], booking["total_price"]) == ("pending", PRICE), booking

    # At the desk: the operator types the account loosely and a wrong amount; payments' reason is shown.
    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    desk.get_by_role("link", name="Money").click()
    section = desk.get_by_role("region", name="Cash at the desk")
    form = section.get_by_role("form", name="Record cash received")
    form.get_by_label("Account number").fill(f"jesh {booking_id}")
    form.get_by_label("Amount received (KES)").fill("4,000")
    form.get_by_label("Note (optional)").fill("Book 7, page 42")
    form.get_by_role("button", name="Record cash payment").click()
    expect(form.get_by_role("alert")).to_contain_text(
        f"That account cannot take this money: booking JESH-{booking_id} costs KES {PRICE}")
    check_page(desk, "95-console-cash-refused-desktop")

    # The right amount; the first answer is lost on the way back (payments has recorded it), so the operator sends
    # the same entry again: it carries the same Idempotency-Key and payments answers with the same payment.
    before = _cash_book(admin_api)
    keys: list[str] = []

    def lose_the_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) > 1:
            route.continue_()
            return
        answer = route.fetch()
        assert answer.status == 201, answer.text()
        route.abort("internetdisconnected")

    desk.route("**/api/payments/cash", lose_the_first_answer)
    form.get_by_label("Amount received (KES)").fill(str(PRICE))
    form.get_by_role("button", name="Record cash payment").click()
    expect(form.get_by_role("alert")).to_contain_text("We could not reach Jesh Storage")
    form.get_by_role("button", name="Record cash payment").click()
    done = form.get_by_role("status").filter(has_text="Received")
    expect(done).to_contain_text(re.compile(rf"Received KES 4,500 for JESH-{booking_id}, receipt CASH-\d+\."))
    receipt = re.search(r"receipt (CASH-\d+)", done.inner_text())
    assert receipt, done.inner_text()
    cash_receipt = receipt[1]
    assert len(keys) == 2 and keys[0] == keys[1], keys
    desk.unroute("**/api/payments/cash")
    expect(form.get_by_label("Account number")).to_have_value("")
    expect(form.get_by_label("Amount received (KES)")).to_have_value("")
    expect(form.get_by_label("Note (optional)")).to_have_value("")

    # Today's cash book lists it once, with the totals.
    after = _cash_book(admin_api)
    mine_in = [r for r in after["received"] if r["booking_id"] == booking_id]
    assert [(r["receipt"], r["amount"], r["account"], r["note"]) for r in mine_in] == [
        (cash_receipt, PRICE, f"JESH-{booking_id}", "Book 7, page 42")], mine_in
    assert after["received_total"] == before["received_total"] + PRICE
    received = section.get_by_role("region", name="Received", exact=True)
    row = received.locator(f'tr[data-receipt="{cash_receipt}"]')
    expect(row).to_contain_text(f"JESH-{booking_id}")
    expect(row).to_contain_text(kes(PRICE))
    expect(row).to_contain_text("Book 7, page 42")
    expect(row).to_contain_text(re.compile(r"\d{2}:\d{2}"))
    totals = section.locator(".cash-totals")
    expect(totals.locator("div").filter(has_text="Received")).to_contain_text(kes(after["received_total"]))
    expect(totals.locator("div").filter(has_text="The drawer should hold")).to_contain_text(kes(after["net"]))
    check_page(desk, "96-console-cash-book-desktop")

    # The end of the day: the drawer is counted KES 200 short of the book, then counted again, and it matches.
    count_form = section.get_by_role("form", name="Count the drawer")
    expect(count_form).to_contain_text("The drawer has not been counted for this day.")
    count_form.get_by_label("Amount counted (KES)").fill(f"{after['net'] - 200:,}")
    count_form.get_by_label("Note (optional)").fill("Counted with Juma")
    count_form.get_by_role("button", name="Record the count").click()
    day_count = count_form.locator(".cash-counts > div")
    at = r"at \d{2}:\d{2}"
    expect(day_count).to_contain_text(re.compile(
        rf"^Counted {kes(after['net'] - 200)} {at}: KES 200 short \(Counted with Juma\)$"))
    expect(count_form.get_by_label("Amount counted (KES)")).to_have_value("")
    count_form.get_by_label("Amount counted (KES)").fill(str(after["net"]))
    count_form.get_by_role("button", name="Record the count").click()
    expect(day_count).to_contain_text(re.compile(rf"^Counted {kes(after['net'])} {at}: matches the book$"))
    earlier = count_form.get_by_role("list", name="Earlier counts")
    expect(earlier.get_by_role("listitem")).to_have_count(1)
    expect(earlier).to_contain_text("KES 200 short")
    counts = _cash_book(admin_api)["counts"]
    assert [(c["counted"], c["expected"], c["difference"], c["note"]) for c in counts] == [
        (after["net"], after["net"], 0, None), (after["net"] - 200, after["net"], -200, "Counted with Juma")], counts
    check_page(desk, "96b-console-cash-counted-desktop")

    # Another day's book does not have it.
    today = (datetime.now(UTC) + timedelta(hours=3)).date()
    section.get_by_label("Day", exact=True).fill((today - timedelta(days=1)).isoformat())
    expect(section.get_by_text("No cash received on this day.")).to_be_visible()
    expect(row).to_have_count(0)
    section.get_by_label("Day", exact=True).fill(today.isoformat())
    expect(row).to_contain_text(kes(PRICE))

    # The customer's booking is confirmed, paid in cash.
    wait_for(lambda: next(b for b in mine.get("/api/bookings").json()["data"] if b["id"] == booking_id)["status"]
             == "confirmed", timeout=30, what="the booking confirmed by the cash payment")
    page.goto(f"/bookings/{booking_id}")
    expect(page.get_by_text("Booking confirmed")).to_be_visible()
    expect(page.locator(".facts div").filter(has_text="Cash receipt")).to_contain_text(cash_receipt)
    check_page(page, "97-booking-paid-in-cash-phone")

    # Cancelled after all: its refund is cash handed back at the desk.
    assert admin_api.client.post(f"/api/bookings/{booking_id}/cancel").status_code == 200

    def refund() -> dict[str, Any] | None:
        rows = admin_api.client.get("/api/payments/refunds").json()["data"]
        return next((r for r in rows if r["booking_id"] == booking_id), None)

    owed = wait_for(refund, timeout=30, what="the refund of the cancelled cash booking")
    assert (owed["status"], owed["method"], owed["amount"]) == ("required", "cash", PRICE), owed
    desk.reload()
    refund_row = desk.locator(f'tr[data-refund-id="{owed["id"]}"]')
    expect(refund_row).to_contain_text(kes(PRICE))
    expect(refund_row.get_by_role("button", name=re.compile("^Approve and pay"))).to_have_count(0)
    refund_row.get_by_role("button", name=f"Paid back in cash refund #{owed['id']}").click()
    expect(refund_row).to_have_count(0)  # paid at once: no longer one to approve
    assert (refund() or {}).get("status") == "paid"
    paid_back = section.get_by_role("region", name="Paid back", exact=True)
    expect(paid_back.locator(f'tr[data-receipt="CASH-R{owed["id"]}"]')).to_contain_text(kes(PRICE))
    book = _cash_book(admin_api)
    assert book["net"] == after["net"] - PRICE, book
    expect(totals.locator("div").filter(has_text="Paid back")).to_contain_text(kes(book["paid_back_total"]))
    expect(totals.locator("div").filter(has_text="The drawer should hold")).to_contain_text(kes(book["net"]))
    expect(count_form).to_contain_text(f"The book has changed since this count (it then said {kes(after['net'])}).")

    page.reload()
    paid_back_text = f"KES 4,500 was paid back to you in cash at our office (receipt CASH-R{owed['id']})."
    expect(page.get_by_text(paid_back_text)).to_be_visible()
    mine.close()
