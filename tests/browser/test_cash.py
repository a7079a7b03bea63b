"""Cash at the desk: a customer books a unit on the portal and pays it in notes at the office. The operator records it
in the console: a wrong amount first (payments' refusal is shown), then the right one, whose answer is lost on the
way back (the network drops it): sent again, it keeps its Idempotency-Key and is recorded once. The receipt shows,
the day's cash book lists it with the totals, and the customer's booking page shows the booking confirmed with the
cash receipt. The operator puts float into the drawer and banks some cash, a wrong amount first (KES 150 for 1,500):
that banking is never edited, it is reversed in the console with the reason (the book shows it reversed, its reversal
putting the cash back, and the closing as it was), then the right amount is banked. The book lists them all and what
the drawer should hold now (its closing: opening + takings - banked + float); banking more than that is refused. The
operator counts the drawer against the closing: KES 200 short first, then counted again, it matches the book. The
booking is then cancelled: its refund is "Paid back in cash" from the console, the cash book shows it paid back (and
that the book changed since the count) and the customer reads that the money was paid back in cash at the office."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import ANY

import httpx
from playwright.sync_api import Route, expect

from jeshstack.testing import wait_for
from tests.browser.conftest import DESKTOP, PHONE, admin_logs_in, logs_in, register_customer

PRICE = 4500
FLOAT = 2000
BANKED = 1500  # what is left still pays the cash refund back at the end
WRONG = 150  # the banking typed wrong first, then reversed
REASON = "Typed 150 for 1,500"


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

    # At the desk: the operator types the account loosely and a wrong amount; payments' reason is shown. Recording
    # cash is confirmed first (the amount and the account as typed); declined, nothing is sent.
    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    dialogs: list[str] = []
    answer = {"accept": False}

    def answered(dialog: Any) -> None:
        dialogs.append(dialog.message)
        if answer["accept"]:
            dialog.accept()
        else:
            dialog.dismiss()

    desk.on("dialog", answered)
    desk.get_by_role("link", name="Money").click()
    section = desk.get_by_role("region", name="Cash at the desk")
    form = section.get_by_role("form", name="Record cash received")
    form.get_by_label("Account number").fill(f"jesh {booking_id}")
    form.get_by_label("Amount received (KES)").fill("4,000")
    form.get_by_label("Note (optional)").fill("Book 7, page 42")
    sent: list[str] = []
    desk.on("request", lambda request: sent.append(request.method) if request.url.endswith("/api/payments/cash")
            else None)
    form.get_by_role("button", name="Record cash payment").click()
    expect(form.get_by_label("Amount received (KES)")).to_have_value("4,000")  # declined: the form as it was
    assert dialogs == [f"Record KES 4,000 received in cash for account jesh {booking_id}? It is the customer's "
                       "payment: they get the receipt by SMS."], dialogs
    assert "POST" not in sent, sent
    answer["accept"] = True
    form.get_by_role("button", name="Record cash payment").click()
    expect(form.get_by_role("alert")).to_have_text(
        f"Booking JESH-{booking_id} costs {kes(PRICE)}, not KES 4,000, so it cannot take this amount.")
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
    expect(totals.locator("div").filter(has_text="Opening balance")).to_contain_text(kes(after["opening"]))
    expect(totals.locator("div").filter(has_text="Takings of the day")).to_contain_text(kes(after["net"]))
    expect(totals.locator("div").filter(has_text="The drawer should hold")).to_contain_text(kes(after["closing"]))
    check_page(desk, "96-console-cash-book-desktop")

    # Float put into the drawer, then cash taken to the bank (confirmed first): both listed, what the drawer should
    # hold follows them.
    assert len(dialogs) == 4, dialogs  # the cash confirmed: declined, refused, the answer lost, sent again
    dialogs.clear()
    move_form = section.get_by_role("form", name="Bank cash or put in float")
    move_form.get_by_label("Put in float").check()
    move_form.get_by_label("Amount (KES)").fill(f"{FLOAT:,}")
    move_form.get_by_label("Note (optional)").fill("From the safe")
    move_form.get_by_role("button", name="Record float put in").click()
    expect(move_form.get_by_role("status")).to_have_text(f"{kes(FLOAT)} put into the drawer as float.")
    assert dialogs == []  # only banking is confirmed
    movements = section.get_by_role("region", name="Banked and float", exact=True)
    expect(movements.locator("tbody tr")).to_have_count(1)
    totals_closing = totals.locator("div").filter(has_text="The drawer should hold")

    # Cash banked with the wrong amount typed: a movement is never edited; the operator reverses it with the reason.
    def bank(amount: int) -> None:
        move_form.get_by_label("Bank cash").check()
        move_form.get_by_label("Amount (KES)").fill(str(amount))
        move_form.get_by_label("Reference (optional)").fill("DS-0042")
        move_form.get_by_role("button", name="Record cash banked").click()
        expect(move_form.get_by_role("status")).to_have_text(f"{kes(amount)} taken from the drawer to the bank.")

    bank(WRONG)
    wrong = _cash_book(admin_api)["movements"][0]
    assert (wrong["kind"], wrong["amount"], wrong["reverses"], wrong["reversed_by"]) == ("banked", WRONG, None, None)
    expect(totals_closing).to_contain_text(kes(after["closing"] + FLOAT - WRONG))
    wrong_row = movements.locator(f'tr[data-movement-id="{wrong["id"]}"]')
    wrong_row.get_by_role("button", name=f"Reverse #{wrong['id']}").click()
    reverse_form = movements.get_by_role("form", name=f"Reverse movement #{wrong['id']}")
    expect(reverse_form).to_contain_text(f"its reversal records +{kes(WRONG)} in today's book")
    reason = reverse_form.get_by_label("Reason for the reversal")
    expect(reason).to_be_focused()
    reason.fill("  ok  ")  # too short once trimmed: not sent
    reason.blur()
    expect(reverse_form).to_contain_text("Give the reason, 3 to 200 characters.")
    expect(reverse_form.get_by_role("button", name="Record the reversal")).to_be_disabled()
    reason.fill(f" {REASON} ")
    check_page(desk, "96a-console-cash-reverse-desktop")
    reverse_form.get_by_role("button", name="Record the reversal").click()
    expect(reverse_form).to_have_count(0)
    reversed_book = _cash_book(admin_api)
    reversal = reversed_book["movements"][0]
    assert (reversal["kind"], reversal["amount"], reversal["reverses"], reversal["note"], reversal["reversed_by"]) == (
        "banked", -WRONG, wrong["id"], REASON, None), reversal
    assert [(m["id"], m["kind"], m["amount"], m["reversed_by"]) for m in reversed_book["movements"][1:]] == [
        (wrong["id"], "banked", WRONG, reversal["id"]), (ANY, "float", FLOAT, None)], reversed_book["movements"]
    # The reversal nets the banking out: the drawer should hold what it did before it.
    assert (reversed_book["banked_total"], reversed_book["closing"]) == (0, after["closing"] + FLOAT), reversed_book
    expect(section.get_by_role("status").filter(has_text="reversed")).to_have_text(
        f"Movement #{wrong['id']} reversed: its reversal #{reversal['id']} records +{kes(WRONG)} in today's book.")
    rows = movements.locator("tbody tr")
    at_time = re.compile(r"^\d{2}:\d{2}$")
    reversal_row = movements.locator(f'tr[data-movement-id="{reversal["id"]}"]')
    expect(reversal_row.locator("th, td")).to_have_text([
        f"#{reversal['id']}", at_time, f"Banked Reversal of #{wrong['id']}", f"+{kes(WRONG)}", "", REASON, ""])
    expect(wrong_row.locator("th, td")).to_have_text([
        f"#{wrong['id']}", at_time, "Banked", f"-{kes(WRONG)}", "DS-0042", "", f"Reversed by #{reversal['id']}"])
    expect(wrong_row.locator("del")).to_have_text(f"-{kes(WRONG)}")  # struck through
    undone = re.compile(rf"^Reverse #({wrong['id']}|{reversal['id']})$")
    expect(movements.get_by_role("button", name=undone)).to_have_count(0)  # neither is reversed again
    expect(totals.locator("div").filter(has_text="Banked")).to_contain_text("KES 0")
    expect(totals_closing).to_contain_text(kes(reversed_book["closing"]))

    # The banking that really happened, recorded anew.
    bank(BANKED)
    assert dialogs == [f"Bank {kes(WRONG)} from the drawer?", f"Bank {kes(BANKED)} from the drawer?"], dialogs
    expect(move_form.get_by_label("Amount (KES)")).to_have_value("")
    expect(move_form.get_by_label("Reference (optional)")).to_have_value("")
    moved = _cash_book(admin_api)
    assert [(m["kind"], m["amount"], m["reference"], m["note"], m["reverses"], m["reversed_by"])
            for m in moved["movements"]] == [
        ("banked", BANKED, "DS-0042", None, None, None), ("banked", -WRONG, None, REASON, wrong["id"], None),
        ("banked", WRONG, "DS-0042", None, None, reversal["id"]), ("float", FLOAT, None, "From the safe", None, None),
    ], moved["movements"]
    assert (moved["banked_total"], moved["float_total"]) == (BANKED, FLOAT), moved
    assert moved["closing"] == after["closing"] + FLOAT - BANKED, moved
    expect(rows).to_have_count(4)
    right = moved["movements"][0]["id"]
    expect(rows.nth(0).locator("th, td")).to_have_text(
        [f"#{right}", at_time, "Banked", f"-{kes(BANKED)}", "DS-0042", "", f"Reverse #{right}"])
    float_id = moved["movements"][3]["id"]
    expect(rows.nth(3).locator("th, td")).to_have_text(
        [f"#{float_id}", at_time, "Float in", f"+{kes(FLOAT)}", "", "From the safe", f"Reverse #{float_id}"])
    expect(totals.locator("div").filter(has_text="Banked")).to_contain_text(f"-{kes(BANKED)}")
    expect(totals.locator("div").filter(has_text="Float in")).to_contain_text(f"+{kes(FLOAT)}")
    expect(totals.locator("div").filter(has_text="Takings of the day")).to_contain_text(kes(moved["net"]))
    expect(totals.locator("div").filter(has_text="The drawer should hold")).to_contain_text(kes(moved["closing"]))

    # Banking more than the drawer should hold: payments refuses, the page says why, nothing changes.
    move_form.get_by_label("Amount (KES)").fill(str(moved["closing"] + 1))
    move_form.get_by_role("button", name="Record cash banked").click()
    expect(move_form.get_by_role("alert")).to_contain_text(
        f"Cannot bank more than the drawer should hold ({kes(moved['closing'])})")
    expect(move_form.get_by_role("status")).to_have_count(0)
    assert dialogs[-1] == f"Bank {kes(moved['closing'] + 1)} from the drawer?", dialogs
    assert _cash_book(admin_api)["movements"] == moved["movements"]
    expect(rows).to_have_count(4)
    check_page(desk, "96a-console-cash-banked-desktop")
    after = moved

    # The end of the day: the drawer is counted KES 200 short of the book, then counted again, and it matches.
    count_form = section.get_by_role("form", name="Count the drawer")
    expect(count_form).to_contain_text("The drawer has not been counted for this day.")
    count_form.get_by_label("Amount counted (KES)").fill(f"{after['closing'] - 200:,}")
    count_form.get_by_label("Note (optional)").fill("Counted with Juma")
    count_form.get_by_role("button", name="Record the count").click()
    day_count = count_form.locator(".cash-counts > div")
    at = r"at \d{2}:\d{2}"
    expect(day_count).to_contain_text(re.compile(
        rf"^Counted {kes(after['closing'] - 200)} {at}: KES 200 short \(Counted with Juma\)$"))
    expect(count_form.get_by_label("Amount counted (KES)")).to_have_value("")
    count_form.get_by_label("Amount counted (KES)").fill(str(after["closing"]))
    count_form.get_by_role("button", name="Record the count").click()
    expect(day_count).to_contain_text(re.compile(rf"^Counted {kes(after['closing'])} {at}: matches the book$"))
    expect(count_form).not_to_contain_text("The book has changed")
    earlier = count_form.get_by_role("list", name="Earlier counts")
    expect(earlier.get_by_role("listitem")).to_have_count(1)
    expect(earlier).to_contain_text("KES 200 short")
    counts = _cash_book(admin_api)["counts"]
    assert [(c["counted"], c["expected"], c["difference"], c["note"]) for c in counts] == [
        (after["closing"], after["closing"], 0, None),
        (after["closing"] - 200, after["closing"], -200, "Counted with Juma")], counts
    check_page(desk, "96b-console-cash-counted-desktop")

    # Another day's book does not have it.
    today = (datetime.now(UTC) + timedelta(hours=3)).date()
    section.get_by_label("Day", exact=True).fill((today - timedelta(days=1)).isoformat())
    expect(section.get_by_text("No cash received on this day.")).to_be_visible()
    expect(row).to_have_count(0)
    expect(section.get_by_text("No cash banked or float put in on this day.")).to_be_visible()
    expect(move_form).to_have_count(0)  # payments stamps a movement now: none for a past day
    expect(section.get_by_text("Cash is banked and float put in only in today's book.")).to_be_visible()
    section.get_by_label("Day", exact=True).fill(today.isoformat())
    expect(row).to_contain_text(kes(PRICE))
    expect(rows).to_have_count(4)

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
    assert dialogs[-1] == (f"Hand {kes(PRICE)} back in cash from the drawer (refund #{owed['id']})? It goes into "
                           "today's cash book."), dialogs
    assert (refund() or {}).get("status") == "paid"
    paid_back = section.get_by_role("region", name="Paid back", exact=True)
    expect(paid_back.locator(f'tr[data-receipt="CASH-R{owed["id"]}"]')).to_contain_text(kes(PRICE))
    book = _cash_book(admin_api)
    assert (book["net"], book["closing"]) == (after["net"] - PRICE, after["closing"] - PRICE), book
    expect(totals.locator("div").filter(has_text="Paid back")).to_contain_text(kes(book["paid_back_total"]))
    expect(totals.locator("div").filter(has_text="The drawer should hold")).to_contain_text(kes(book["closing"]))
    expect(count_form).to_contain_text(
        f"The book has changed since this count (it then said {kes(after['closing'])}).")

    page.reload()
    paid_back_text = f"KES 4,500 was paid back to you in cash at our office (receipt CASH-R{owed['id']})."
    expect(page.get_by_text(paid_back_text)).to_be_visible()
    mine.close()
