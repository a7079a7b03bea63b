"""The Paybill (M-PESA C2B): the operator registers its URLs with M-PESA from the console; a customer books a unit,
reads on the booking page how to pay from the phone's menu (business number, account JESH-<id>, the exact amount),
pays that way (the Daraja simulator) and sees the booking confirmed with "I have paid: check again"; the operator
sees the money applied in the console's Paybill list. Money sent with a mistyped account number is unmatched: the
Money tab counts it as soon as the browser tab is back in sight (no reload), and the open Money page's lists show it
then too; its "Needs you" shows it (count and shillings, linking to its section); the
operator is refused an account that cannot take it (the server's reason shown) and assigns it to the customer's other
pending booking of the same price, which is then confirmed, and "Needs you" and the tab no longer count it. A payment
whose confirmation never came is claimed by the operator with the receipt from the customer's SMS. Last, the operator
registers the Paybill for Pull Transactions (which finds such payments without the SMS) with the organisation's
Safaricom number: a bad number is refused with the server's reason, a good one shows how far M-PESA's list was read."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
from playwright.sync_api import expect

from jeshstack.testing import wait_for
from tests.browser.conftest import DESKTOP, PHONE, admin_logs_in, assert_no_sideways_scroll, logs_in, register_customer
from tests.e2e.test_paybill import without_external_validation

PAYBILL = "174379"  # the stack's PAYBILL (the sandbox shortcode)
PAYER = "254708374149"
PRICE = 4500


def _pay(simulator: str, account: str, amount: int, payer: str = PAYER) -> str:
    """A customer pays the Paybill from their phone's menu; M-PESA's receipt (TransID) of it."""
    r = httpx.post(f"{simulator}/simulator/c2b/pay", timeout=30, json={
        "ShortCode": PAYBILL, "CommandID": "CustomerPayBillOnline", "Amount": amount, "Msisdn": payer,
        "BillRefNumber": account})
    assert r.status_code == 200, r.text
    rows = httpx.get(f"{simulator}/simulator/c2b", timeout=30).json()["transactions"]
    return str([t for t in rows if t["BillRefNumber"] == account][-1]["TransID"])


def _paybill_status(admin: Any, receipt: str) -> str | None:
    rows = admin.client.get("/api/payments/paybill/payments").json()["data"]
    return next((str(p["status"]) for p in rows if p["receipt"] == receipt), None)


def _waiting(admin: Any) -> dict[str, dict[str, Any]]:
    """GET /api/payments/admin/attention, by kind."""
    return {w["what"]: w for w in admin.client.get("/api/payments/admin/attention").json()["data"]}


def _needing(waiting: dict[str, dict[str, Any]]) -> int:
    """How many wait for an operator's action: the Money tab's count."""
    return sum(waiting[w]["count"] for w in ("unmatched", "payments_unknown", "refunds_required", "refunds_failed"))


def _money_tab(page: Any, waiting: dict[str, dict[str, Any]]) -> Any:
    """The console's Money tab, named with the count of what needs an operator's action ("Money 2 need you")."""
    n = _needing(waiting)
    name = re.compile(rf"^Money\s*{n} need you$" if n else r"^Money$")
    return page.get_by_role("navigation", name="Console sections").get_by_role("link", name=name)


def _tab_hidden_then_shown(page: Any) -> None:
    """The browser tab put out of sight and brought back, as switching tabs does (visibilityState, its event)."""
    page.evaluate("""() => {
        for (const state of ["hidden", "visible"]) {
            Object.defineProperty(document, "visibilityState", { value: state, configurable: true });
            document.dispatchEvent(new Event("visibilitychange"));
        }
    }""")


def test_a_customer_pays_a_booking_from_the_phone_menu_and_the_operator_assigns_mistyped_money(
    new_page: Any, check_page: Any, admin_api: Any, portal: str, portal_stack: Any
) -> None:
    simulator = str(portal_stack.simulator_url)
    assert httpx.get(f"{portal}/api/payments/paybill", timeout=30).json()["data"] == {
        "enabled": True, "business_number": PAYBILL}
    first_unit, second_unit, third_unit = (admin_api.unit(price=PRICE) for _ in range(3))
    customer = register_customer(portal, name="Atieno Odhiambo")
    mine = httpx.Client(base_url=portal, headers={"Authorization": f"Bearer {customer['token']}"}, timeout=30)

    # The operator registers the Paybill's URLs with M-PESA (once per paybill in production).
    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    desk.get_by_role("link", name="Money").click()
    desk.get_by_role("button", name="Register Paybill URLs with M-PESA").click()
    expect(desk.get_by_role("status").filter(has_text="M-PESA registered Paybill")).to_contain_text(
        f"M-PESA registered Paybill {PAYBILL}: Success")

    # The customer books; the booking page says how to pay from the phone's menu.
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.goto(f"/units/{first_unit['id']}")
    page.get_by_role("button", name="Reserve and continue to payment").click()
    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    booking_id = int(page.url.rsplit("/", 1)[1])
    booking = next(b for b in mine.get("/api/bookings").json()["data"] if b["id"] == booking_id)
    assert booking["total_price"] == PRICE, booking
    how = page.get_by_role("region", name="Or pay from your phone")
    expect(how).to_contain_text("M-PESA → Lipa na M-PESA → Paybill")
    expect(how.locator("div").filter(has_text="Business number")).to_contain_text(PAYBILL)
    expect(how.locator("div").filter(has_text="Account number")).to_contain_text(f"JESH-{booking_id}")
    expect(how.locator("div").filter(has_text="Amount")).to_contain_text("KES 4,500")
    check_page(page, "90-booking-paybill-phone")
    assert_no_sideways_scroll(page)

    # Paid from the phone: payments checks it with M-PESA, then the customer looks again and sees it confirmed.
    receipt = _pay(simulator, f"JESH-{booking_id}", PRICE)
    wait_for(lambda: _paybill_status(admin_api, receipt) == "applied", timeout=30, what="the Paybill money applied")
    page.get_by_role("button", name="I have paid: check again").click()
    expect(page.get_by_text("Booking confirmed")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text(receipt)

    # The operator sees it applied in the Paybill list, with a link to the booking.
    desk.reload()
    row = desk.locator(f'tr[data-receipt="{receipt}"]')
    expect(row).to_contain_text("Applied")
    expect(row).to_contain_text(f"JESH-{booking_id}")
    expect(row).to_contain_text("KES 4,500")
    expect(row.get_by_role("link", name=f"Booking #{booking_id}")).to_have_attribute("href", f"/bookings/{booking_id}")

    # A second booking of the same price, and money for it sent with a mistyped account number.
    start, end = date.fromisoformat(booking["start_date"]), date.fromisoformat(booking["end_date"])
    r = mine.post("/api/bookings", json={"unit_id": second_unit["id"], "start_date": start.isoformat(),
                                         "end_date": end.isoformat()})
    assert r.status_code == 201, r.text
    second_id = int(r.json()["data"]["id"])
    assert r.json()["data"]["total_price"] == PRICE
    # The operator has the Money page open meanwhile, in a browser tab out of sight.
    before = _waiting(admin_api)
    expect(_money_tab(desk, before)).to_be_visible()
    item = desk.locator("li.card").filter(has_text="Paid to the Paybill with account 'JESH 9x'")
    expect(item).to_have_count(0)
    try:
        without_external_validation(simulator, PAYBILL)
        mistyped = _pay(simulator, "JESH 9x", PRICE)
        wait_for(lambda: _paybill_status(admin_api, mistyped) == "unmatched", timeout=30, what="the unmatched money")
    finally:
        assert admin_api.client.post("/api/payments/paybill/register").status_code == 200

    # Back in sight, the console reads the figures again at once (and every minute while in sight): the Money tab
    # counts the new money without a reload, and the page's unmatched and Paybill lists, whose figures moved, follow.
    _tab_hidden_then_shown(desk)
    waiting = _waiting(admin_api)
    assert _needing(waiting) > _needing(before), (before, waiting)
    expect(_money_tab(desk, waiting)).to_be_visible()
    item = desk.locator("li.card").filter(has_text=mistyped)
    expect(item).to_contain_text(  # payments' reason, in the console's words
        "Paid to the Paybill with account 'JESH 9x': The account number 'JESH 9x' is not a booking or an invoice.")
    expect(item).to_contain_text("KES 4,500")
    expect(desk.locator(f'tr[data-receipt="{mistyped}"]')).to_contain_text("Unmatched")
    # "Needs you" at the top of the Money page shows it with what else waits (the API's figures, as other journeys on
    # this stack may leave money waiting), its line links to its section, and the Money tab counts it.
    waiting = _waiting(admin_api)
    unmatched = waiting["unmatched"]
    assert unmatched["count"] >= 1 and unmatched["kes"] >= PRICE, waiting
    needs_you = desk.get_by_role("region", name="Needs you")
    line = needs_you.get_by_role("listitem").filter(has_text="Money that paid nothing")
    expect(line).to_contain_text(f"{unmatched['count']} waiting · KES {unmatched['kes']:,} · since ")
    expect(_money_tab(desk, waiting)).to_be_visible()
    line.get_by_role("link", name="Money that paid nothing: assign or refund it").click()
    expect(desk.get_by_role("heading", name="Unmatched money")).to_be_focused()
    item.get_by_role("button", name=re.compile(r"^Assign to account")).click()
    item.get_by_label("Account number").fill("INV-999999")
    check_page(desk, "91-console-paybill-assign-desktop")
    item.get_by_role("button", name="Assign", exact=True).click()
    expect(item.get_by_role("alert")).to_have_text("There is no invoice INV-999999, so it cannot take this money.")
    item.get_by_label("Account number").fill(f"jesh-{second_id}")
    item.get_by_role("button", name="Assign", exact=True).click()
    expect(desk.get_by_role("status").filter(has_text="Assigned to")).to_contain_text(
        f"Assigned to JESH-{second_id}: receipt {mistyped}")
    expect(item).to_have_count(0)
    row = desk.locator(f'tr[data-receipt="{mistyped}"]')
    expect(row).to_contain_text("Applied")
    # Read again with the lists: the line is gone (or counts the rest), and so is it from the tab's count.
    after = _waiting(admin_api)
    assert after["unmatched"]["count"] == unmatched["count"] - 1, after
    if unmatched["count"] == 1:
        expect(line).to_have_count(0)
    else:
        expect(line).to_contain_text(f"{unmatched['count'] - 1} waiting · KES {unmatched['kes'] - PRICE:,}")
    expect(_money_tab(desk, after)).to_be_visible()
    expect(row.get_by_role("link", name=f"Booking #{second_id}")).to_be_visible()

    # The customer's other booking is confirmed by it.
    wait_for(lambda: next(b for b in mine.get("/api/bookings").json()["data"] if b["id"] == second_id)["status"]
             == "confirmed", timeout=30, what="the second booking confirmed")
    page.goto(f"/bookings/{second_id}")
    expect(page.get_by_text("Booking confirmed")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text(mistyped)

    # A payment whose confirmation M-PESA never sends (a phone ending 0000 in the simulator): the customer shows the
    # SMS's receipt at the desk, the operator claims it, M-PESA is asked and the booking is confirmed.
    r = mine.post("/api/bookings", json={"unit_id": third_unit["id"], "start_date": start.isoformat(),
                                         "end_date": end.isoformat()})
    assert r.status_code == 201, r.text
    third_id = int(r.json()["data"]["id"])
    lost = _pay(simulator, f"JESH-{third_id}", PRICE, payer="254708370000")
    wait_for(lambda: next(t for t in httpx.get(f"{simulator}/simulator/c2b", timeout=30).json()["transactions"]
                          if t["TransID"] == lost)["status"] == "completed", what="M-PESA to complete the payment")
    assert _paybill_status(admin_api, lost) is None  # its confirmation never came
    claim = desk.locator("form").filter(has_text="A customer paid but nothing came")
    claim.get_by_label("M-PESA receipt").fill(lost.lower())
    claim.get_by_label("Account number").fill(f"JESH-{third_id}")
    claim.get_by_role("button", name="Check with M-PESA").click()
    expect(claim.get_by_role("status")).to_contain_text(f"Receipt {lost} is being checked with M-PESA")
    wait_for(lambda: next(b for b in mine.get("/api/bookings").json()["data"] if b["id"] == third_id)["status"]
             == "confirmed", timeout=30, what="the claimed payment confirming the third booking")
    desk.reload()
    expect(desk.locator(f'tr[data-receipt="{lost}"]')).to_contain_text("Applied")
    mine.close()

    # Pull Transactions, registered only now: its job could otherwise take the lost payment before the claim. The
    # stack does not register it, so the console explains it and asks for the organisation's Safaricom number.
    pull = desk.get_by_role("region", name="Lost confirmations")
    expect(pull).to_contain_text("M-PESA asks for the organisation's Safaricom number")
    expect(pull).not_to_contain_text("Listed up to")
    pull.get_by_label("Nominated number").fill("0800 000 000")
    pull.get_by_role("button", name="Register for Pull Transactions").click()
    expect(pull.get_by_role("alert")).to_contain_text("nominated_number must be a Safaricom number")
    pull.get_by_label("Nominated number").fill("0722 000 000")
    pull.get_by_role("button", name="Register for Pull Transactions").click()
    expect(pull.get_by_role("status")).to_contain_text(f"M-PESA registered {PAYBILL} for Pull Transactions: ")
    expect(pull).to_contain_text("Listed up to")
    expect(pull).to_contain_text("254722000000")
    expect(pull.get_by_role("button", name="Register for Pull Transactions")).to_have_count(0)
    check_page(desk, "92-console-paybill-pull-desktop")
    # Read again, it is the registered state that shows (the first pull, looking back 47 hours, may have run).
    desk.reload()
    expect(pull).to_contain_text("Listed up to")
    expect(pull).to_contain_text("254722000000")
    expect(pull).to_contain_text(re.compile(r"Not checked yet|Found no lost confirmation"))
    expect(pull.get_by_label("Nominated number")).to_have_count(0)
