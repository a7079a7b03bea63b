"""An operator at a desk: creates a unit, puts another under maintenance, sees a customer's booking of it, and moves
a transport request along the dispatch board to completed; approves a refund owed; turns card money that matched no
payment into a refund and approves it; replays a parked payment once the booking it pays for exists."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from jeshstack.demo import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from jeshstack.testing import EventBus, wait_for
from payments.settings import DEV_PESAPAL_KEY, DEV_PESAPAL_SECRET, PESAPAL_IPN_PATH
from tests.browser.conftest import DESKTOP, PHONE, admin_logs_in, register_customer


def _customer_books_and_pays(portal: str, unit_id: int) -> tuple[dict[str, Any], int]:
    customer = register_customer(portal)
    headers = {"Authorization": f"Bearer {customer['token']}"}
    with httpx.Client(base_url=portal, headers=headers, timeout=30) as client:
        today = datetime.now(UTC) + timedelta(hours=3)  # Nairobi
        start = today.date() + timedelta(days=1)
        r = client.post("/api/bookings", json={"unit_id": unit_id, "start_date": start.isoformat(),
                                               "end_date": (start + timedelta(days=60)).isoformat()})
        assert r.status_code == 201, r.text
        booking_id = r.json()["data"]["id"]
        r = client.post("/api/payments/mpesa/initiate", json={"booking_id": booking_id, "phone_number": "0712345678"})
        assert r.status_code == 200, r.text
        wait_for(lambda: client.get("/api/bookings").json()["data"][0]["status"] == "confirmed", timeout=30,
                 what="the booking confirmed")
    return customer, booking_id


def test_an_operator_creates_a_unit_sees_it_booked_and_completes_a_transport_request(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    page = new_page(DESKTOP)
    page.goto("/login")
    page.get_by_label("Email").fill(DEV_ADMIN_EMAIL)
    page.get_by_label("Password").fill(DEV_ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/units$"))

    # Create a unit.
    number = f"OP-{uuid.uuid4().hex[:5].upper()}"
    page.get_by_text("Add a unit").click()
    page.get_by_label("Unit number").fill(number)
    page.get_by_label("Size").select_option("large")
    page.get_by_label("Dimensions").fill("4m x 3m x 2.4m")
    page.get_by_label("Monthly price (KES)").fill("11000")
    page.get_by_label("Description").fill("Corner unit by the loading bay")
    page.get_by_role("button", name="Create unit").click()
    expect(page.get_by_role("status").filter(has_text=f"Unit {number} created.")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=number))
    expect(row).to_contain_text("KES 11,000")
    expect(row).to_contain_text("Available")
    check_page(page, "20-console-units-desktop")
    unit = next(u for u in httpx.get(f"{portal}/api/units").json()["data"] if u["unit_number"] == number)

    # Put another unit under maintenance, with a new price.
    other = admin_api.unit(price=5000, size="small")
    page.reload()
    page.get_by_role("button", name=f"Edit unit {other['unit_number']}").click()
    editing = page.locator("tr.editing")
    # A price inventory refuses: the refusal says which field and why (before: "Invalid request" alone).
    editing.get_by_label("Monthly price (KES)").fill("5500.5")
    editing.get_by_role("button", name="Save").click()
    expect(editing.get_by_role("alert")).to_contain_text("monthly_price")
    editing.get_by_label("Monthly price (KES)").fill("5500")
    editing.get_by_label("Maintenance").check()
    editing.get_by_role("button", name="Save").click()
    other_row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=other["unit_number"]))
    expect(other_row).to_contain_text("Maintenance")
    expect(other_row).to_contain_text("KES 5,500")
    assert httpx.get(f"{portal}/api/units/{other['id']}").json()["data"]["status"] == "maintenance"

    # A customer books and pays the new unit: the console shows it booked.
    customer, booking_id = _customer_books_and_pays(portal, unit["id"])
    page.reload()
    expect(page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=number))).to_contain_text("Booked")
    page.get_by_role("link", name="Bookings", exact=True).click()
    page.get_by_label("Unit", exact=True).select_option(label=number)
    booking_row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=str(booking_id)))
    expect(booking_row).to_contain_text("Confirmed")
    expect(booking_row).to_contain_text("Paid")
    expect(page.locator("tbody tr")).to_have_count(1)
    check_page(page, "21-console-bookings-desktop")

    # The customer asks for a truck; the operator moves it to completed on the dispatch board.
    preferred = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
    r = httpx.post(f"{portal}/api/transport-requests", headers={"Authorization": f"Bearer {customer['token']}"},
                   json={"booking_id": booking_id, "pickup_address": "Westlands, Waiyaki Way",
                         "delivery_address": f"Jesh Storage unit {number}", "distance": 9.5,
                         "preferred_time": preferred, "items_description": "Office archive boxes"}, timeout=30)
    assert r.status_code == 201, r.text
    request_id = r.json()["data"]["id"]
    page.get_by_role("link", name="Dispatch").click()
    card = page.locator(f'[data-request-id="{request_id}"]')
    expect(page.get_by_role("region", name=re.compile("^Requested")).locator(card)).to_be_visible()
    check_page(page, "22-console-dispatch-desktop")
    for action, status in (("Schedule", "Scheduled"), ("Start trip", "On the way"), ("Mark completed", "Completed")):
        page.get_by_role("button", name=f"{action} request #{request_id}").click()
        expect(page.get_by_role("region", name=re.compile(f"^{status}")).locator(card)).to_be_visible()
    mine = httpx.get(f"{portal}/api/transport-requests", headers={"Authorization": f"Bearer {customer['token']}"})
    assert [t["status"] for t in mine.json()["data"] if t["id"] == request_id] == ["completed"]

    # Reports: the charts, and a CSV download (fetched with the admin's token, saved by the browser).
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Occupancy")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Units by status\. .*Booked: [1-9]"))).to_be_visible()
    check_page(page, "26-console-reports-desktop")
    with page.expect_download() as download:
        page.get_by_role("button", name="Revenue CSV").click()
    assert re.fullmatch(r"jesh-revenue-\d{4}-\d{2}-\d{2}\.csv", download.value.suggested_filename)
    with open(download.value.path(), encoding="utf-8") as f:
        assert f.readline().strip() == "month,method,collected,refunds,net"
    page.get_by_role("link", name="Rentals").click()
    expect(page.get_by_role("heading", name="Rentals", level=1)).to_be_visible()
    check_page(page, "27-console-rentals-desktop")
    page.get_by_role("link", name="Parked events").click()
    expect(page.get_by_role("heading", name="Parked events", level=1)).to_be_visible()
    expect(page.get_by_text("Nothing parked.").or_(page.locator("[data-letter]").first)).to_be_visible()
    check_page(page, "28-console-events-desktop")

    # The audit log: what the operator did, from every service, newest first: the truck's last move (transport) above
    # the price and maintenance change (inventory) above the unit created; then one service's alone.
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    rows = page.locator("tbody tr")
    completed = rows.filter(has_text=f"transport_request:{request_id}").filter(has_text="to: completed")
    changed = rows.filter(has_text=f"unit:{other['id']}").filter(has=page.get_by_role("rowheader", name="unit.updated"))
    created = rows.filter(has_text=f"unit:{unit['id']}").filter(has=page.get_by_role("rowheader", name="unit.created"))
    for entry in (completed, changed, created):
        expect(entry).to_have_count(1)
    order = [r.get_attribute("data-audit") for r in rows.all()]
    positions = [order.index(e.get_attribute("data-audit")) for e in (completed, changed, created)]
    assert positions == sorted(positions), f"not newest first: {positions}"
    expect(created).to_contain_text("inventory")
    check_page(page, "29-console-audit-desktop")
    page.get_by_label("Service").select_option("transport")
    expect(page).to_have_url(re.compile(r"/admin/audit\?service=transport$"))
    expect(rows.filter(has_text="unit.")).to_have_count(0)
    expect(completed).to_have_count(1)

    # The console works on a phone too.
    phone = new_page(PHONE)
    phone.goto("/login")
    phone.get_by_label("Email").fill(DEV_ADMIN_EMAIL)
    phone.get_by_label("Password").fill(DEV_ADMIN_PASSWORD)
    phone.get_by_role("button", name="Log in").click()
    phone.get_by_role("link", name="Dispatch").click()
    expect(phone.locator(f'[data-request-id="{request_id}"]')).to_be_visible()
    check_page(phone, "23-console-dispatch-phone")


def test_an_operator_approves_the_refund_of_a_cancelled_paid_booking(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    unit = admin_api.unit(price=2500, size="small")
    customer, booking_id = _customer_books_and_pays(portal, unit["id"])
    assert admin_api.client.post(f"/api/bookings/{booking_id}/cancel").status_code == 200

    def refund() -> dict[str, Any] | None:
        rows = admin_api.client.get("/api/payments/refunds").json()["data"]
        return next((r for r in rows if r["booking_id"] == booking_id), None)

    owed = wait_for(refund, timeout=30, what="the refund of the cancelled paid booking")
    assert owed["status"] == "required" and owed["amount"] == 5000  # 60 days at KES 2,500 a month

    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.get_by_role("link", name="Money").click()
    row = page.locator(f'tr[data-refund-id="{owed["id"]}"]')
    expect(row).to_contain_text("KES 5,000")
    expect(row).to_contain_text("To approve")
    check_page(page, "24-console-money-desktop")
    # Money leaves at once: the console asks first, and a "no" sends nothing.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name=f"Approve and pay refund #{owed['id']}").click()
    wait_for(lambda: asked, timeout=10, what="the confirmation")
    assert re.fullmatch(rf"Pay KES 5,000 back by M-PESA to 07\d\d \d{{3}} \d{{3}} \(refund #{owed['id']}\)\? "
                        r"It is sent at once and cannot be undone\.", asked[0]), asked
    page.wait_for_timeout(1000)
    assert (refund() or {}).get("status") == "required"
    expect(row).to_contain_text("To approve")
    # Yes, but the answer never comes (the connection dropped): the console says so, the button is there again.
    page.route("**/api/payments/refunds/*/approve", lambda route: route.abort("internetdisconnected"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Approve and pay refund #{owed['id']}").click()
    expect(page.get_by_role("alert").filter(has_text="We could not reach Jesh Storage")).to_be_visible()
    expect(page.get_by_role("button", name=f"Approve and pay refund #{owed['id']}")).to_be_enabled()
    page.unroute("**/api/payments/refunds/*/approve")
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name=f"Approve and pay refund #{owed['id']}").click()

    wait_for(lambda: (refund() or {}).get("status") == "paid", timeout=30, what="the refund paid by B2C")
    page.get_by_label("Status").select_option("paid")
    expect(row).to_contain_text("Refunded")

    # The customer sees the money came back.
    phone = new_page(PHONE)
    phone.goto("/login")
    phone.get_by_label("Email").fill(customer["email"])
    phone.get_by_label("Password").fill(customer["password"])
    phone.get_by_role("button", name="Log in").click()
    expect(phone).to_have_url(re.compile(r"/bookings$"))
    phone.goto(f"/bookings/{booking_id}")
    expect(phone.get_by_text("This booking is cancelled")).to_be_visible()
    expect(phone.get_by_text(re.compile(r"KES 5,000 was paid back to your M-PESA \(receipt \w+\)"))).to_be_visible()
    check_page(phone, "25-booking-refunded-phone")


def _card_money_nobody_asked_for(portal: str, pesapal_url: str, unit_id: int, amount: int) -> str:
    """Money paid on Pesapal's page for an order payments has no record of (its intent lost), as Pesapal's IPN then
    reports it; returns the order's tracking id. A customer's own card payment first has payments register its IPN
    URL with Pesapal (it does so on the first card payment)."""
    customer = register_customer(portal)
    with httpx.Client(base_url=portal, headers={"Authorization": f"Bearer {customer['token']}"}, timeout=30) as client:
        start = (datetime.now(UTC) + timedelta(hours=3)).date() + timedelta(days=1)
        r = client.post("/api/bookings", json={"unit_id": unit_id, "start_date": start.isoformat(),
                                               "end_date": (start + timedelta(days=30)).isoformat()})
        assert r.status_code == 201, r.text
        r = client.post("/api/payments/card/initiate", json={"booking_id": r.json()["data"]["id"]})
        assert r.status_code == 200, r.text
    with httpx.Client(base_url=pesapal_url, timeout=30) as pesapal:
        token = pesapal.post("/api/Auth/RequestToken", json={"consumer_key": DEV_PESAPAL_KEY,
                                                             "consumer_secret": DEV_PESAPAL_SECRET}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        ipn_id = next(i["ipn_id"] for i in pesapal.get("/api/URLSetup/GetIpnList", headers=auth).json()
                      if PESAPAL_IPN_PATH in i["url"])
        r = pesapal.post("/api/Transactions/SubmitOrderRequest", headers=auth, json={
            "id": f"LOST-{uuid.uuid4().hex[:8]}", "currency": "KES", "amount": amount,
            "description": "Jesh Storage JESH-lost", "callback_url": "https://example.co.ke/back",
            "notification_id": ipn_id, "billing_address": {"email_address": customer["email"]}})
        assert r.status_code == 200, r.text
        order = r.json()
        r = pesapal.post(order["redirect_url"], data={"card_number": "4111111111111111"})
        assert r.status_code == 303, r.text
    return str(order["order_tracking_id"])


def test_an_operator_refunds_card_money_that_matched_no_payment(
    new_page: Any, check_page: Any, admin_api: Any, portal: str, portal_stack: Any
) -> None:
    unit = admin_api.unit(price=2700, size="small")
    tracking_id = _card_money_nobody_asked_for(portal, portal_stack.pesapal_url, unit["id"], 2700)

    def unmatched() -> dict[str, Any] | None:
        rows = admin_api.client.get("/api/payments/unmatched").json()["data"]
        return next((u for u in rows if u["reference"] == tracking_id), None)

    money = wait_for(unmatched, timeout=30, what="the unmatched card money")
    assert money["amount"] == 2700 and money["refund_id"] is None

    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.get_by_role("link", name="Money").click()
    item = page.locator("li.card").filter(has_text=tracking_id)
    expect(item).to_contain_text("KES 2,700")
    check_page(page, "36-console-unmatched-desktop")
    item.get_by_role("button", name=re.compile(r"^Refund it")).click()
    expect(item).to_contain_text(re.compile(r"refund #\d+"))
    refund_id = (unmatched() or {})["refund_id"]
    row = page.locator(f'tr[data-refund-id="{refund_id}"]')
    expect(row).to_contain_text("KES 2,700")
    expect(row).to_contain_text("To approve")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name=f"Approve and pay refund #{refund_id}").click()
    wait_for(lambda: asked, timeout=10, what="the confirmation")
    assert asked == [f"Pay KES 2,700 back to the card that paid (refund #{refund_id})? It is sent at once and cannot "
                     "be undone."], asked

    def refund_status() -> str:
        rows = admin_api.client.get("/api/payments/refunds").json()["data"]
        return str(next(r["status"] for r in rows if r["id"] == refund_id))

    wait_for(lambda: refund_status() == "paid", timeout=30, what="Pesapal's reversal of the card money")
    page.get_by_label("Status").select_option("paid")
    expect(row).to_contain_text("Refunded")
    order = httpx.get(f"{portal_stack.pesapal_url}/simulator/orders/{tracking_id}", timeout=30).json()
    assert order["refund"]["amount"] == 2700 and order["payment_status_description"] == "REVERSED"


def test_an_operator_replays_a_parked_payment_once_its_booking_exists(
    new_page: Any, check_page: Any, admin_api: Any, portal: str, portal_stack: Any
) -> None:
    # A payment for a booking the booking service has not heard of yet (the next one) is parked, not lost.
    first_unit, later_unit = admin_api.unit(price=3300, size="small"), admin_api.unit(price=3300, size="small")
    customer = register_customer(portal)
    mine = httpx.Client(base_url=portal, headers={"Authorization": f"Bearer {customer['token']}"}, timeout=30)
    start = (datetime.now(UTC) + timedelta(hours=3)).date() + timedelta(days=3)
    dates = {"start_date": start.isoformat(), "end_date": (start + timedelta(days=30)).isoformat()}
    r = mine.post("/api/bookings", json={"unit_id": first_unit["id"], **dates})
    assert r.status_code == 201, r.text
    first = r.json()["data"]
    later_id = first["id"] + 1
    payment = {"payment_id": 900_000 + later_id, "booking_id": later_id, "user_id": first["user_id"],
               "amount": first["total_price"], "method": "mpesa", "receipt": f"SIM{later_id:07d}",
               "checkout_request_id": f"ws_CO_{uuid.uuid4().hex[:12]}", "paid_at": datetime.now(UTC).isoformat()}
    with ThreadPoolExecutor(1) as outside:  # Playwright's sync API keeps an event loop running in this thread
        outside.submit(EventBus(portal_stack.nats_url).publish, "PaymentSucceeded", payment).result()

    def parked() -> dict[str, Any] | None:
        rows = admin_api.client.get("/api/bookings/admin/dead-letters").json()["data"]
        return next((p for p in rows if f"unknown booking {later_id}" in p["error"]), None)

    letter = wait_for(parked, timeout=30, what="the payment parked by the booking service")

    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.get_by_role("link", name="Parked events").click()
    card = page.locator(f'[data-letter="booking-{letter["id"]}"]')
    expect(card).to_contain_text("PaymentSucceeded")
    expect(card).to_contain_text(f"unknown booking {later_id}")
    check_page(page, "37-console-parked-desktop")
    replay = card.get_by_role("button", name=f"Replay booking #{letter['id']}")
    replay.click()  # still unknown: it stays parked, and the console says why
    expect(page.get_by_role("alert").filter(has_text=f"unknown booking {later_id}")).to_be_visible()
    expect(card).to_be_visible()

    # The booking it pays for is made; the replay now applies the payment and confirms it.
    r = mine.post("/api/bookings", json={"unit_id": later_unit["id"], **dates})
    assert r.status_code == 201, r.text
    assert r.json()["data"]["id"] == later_id
    replay.click()
    expect(page.get_by_role("status").filter(has_text="PaymentSucceeded: applied.")).to_be_visible()
    expect(card).to_have_count(0)
    wait_for(lambda: next(b for b in mine.get("/api/bookings").json()["data"] if b["id"] == later_id)["status"]
             == "confirmed", timeout=30, what="the booking confirmed by the replayed payment")
    mine.close()
