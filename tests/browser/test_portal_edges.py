"""Edges of the portal where a page once crashed, spun for good or refused: a hand-made date in a unit's link; a card
payment Pesapal leaves pending longer than the return page asks; a hold that runs out while the booking page is
open; the start-up operator, who has no phone, saving their details; the console's lists of every booking and every
invoice past their first 200 rows; and the customer's own: their bookings, what each rental owes, a rental's invoices
and the bookings a truck can be ordered for, past the first page booking's and billing's lists answer; an owner
cancelling a paid booking before it starts; on a phone, the console and a long payment reference that scrolled
sideways; closing an account whose live booking is older than a thousand others; the messages page past the newest
100."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from playwright.sync_api import expect

from jeshstack.testing import wait_for
from tests.browser.conftest import (
    DESKTOP,
    PAYS,
    PHONE,
    admin_logs_in,
    assert_no_sideways_scroll,
    books,
    logs_in,
    nairobi_now,
    paid_monthly_rental,
    register_customer,
)


def test_a_unit_link_with_a_hand_made_date_shows_the_unit_with_the_usual_dates(
    new_page: Any, admin_api: Any
) -> None:
    unit = admin_api.unit(price=3000)
    today = nairobi_now().date()
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


def test_a_card_payment_still_pending_after_the_return_page_has_asked_is_said_so_and_can_be_checked_again(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    customer = register_customer(portal)
    booking = books(portal, customer, admin_api.unit()["id"], nairobi_now() + timedelta(days=1), days=30)
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    # Pesapal has not answered: the server says pending each time it is asked (until the test says otherwise).
    answer = {"status": "pending"}
    asked: list[str] = []

    def card_return(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(json={"success": True, "data": {"status": answer["status"], "booking_id": booking["id"],
                                                      "invoice_id": None}})

    page.route(re.compile(r"/api/payments/card/return\?"), card_return)
    page.clock.install()  # the page asks every 1.5 s: the test moves its clock on instead of waiting a minute
    page.goto("/bookings/card-return?OrderTrackingId=trk-still-pending&OrderMerchantReference=x")
    expect(page.get_by_role("status").filter(has_text="Checking your payment")).to_be_visible()
    deadline = time.monotonic() + 120
    while len(asked) < 40 and time.monotonic() < deadline:
        page.clock.fast_forward(1500)
        page.wait_for_timeout(50)
    assert len(asked) >= 40, len(asked)
    page.clock.fast_forward(5000)

    told = page.get_by_role("status").filter(has_text="Your card payment is not confirmed yet")
    expect(told).to_be_visible()
    expect(told).to_contain_text("Look at your booking later")
    expect(page.get_by_role("status").filter(has_text="Checking your payment")).to_have_count(0)
    expect(told.get_by_role("link", name="Back to the booking")).to_have_attribute("href", f"/bookings/{booking['id']}")
    check_page(page, "90-card-return-not-confirmed-phone")
    asked_before = len(asked)
    page.clock.fast_forward(10_000)
    page.wait_for_timeout(300)
    assert len(asked) == asked_before  # it stopped asking

    # Pesapal has answered meanwhile: checking again shows how it went.
    answer["status"] = "failed"
    told.get_by_role("button", name="Check again").click()
    expect(page.get_by_role("alert")).to_contain_text("The card payment did not go through")
    assert len(asked) > asked_before


def test_when_the_hold_runs_out_the_booking_page_reads_the_booking_again(
    new_page: Any, admin_api: Any, portal: str
) -> None:
    customer = register_customer(portal)
    booking = books(portal, customer, admin_api.unit()["id"], nairobi_now() + timedelta(days=1), days=10)
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    # The browser stack holds a booking for 5 minutes: the page is told its hold ends in a few seconds instead.
    ends = (datetime.now(UTC) + timedelta(seconds=20)).isoformat().replace("+00:00", "Z")
    reads: list[str] = []

    def short_hold(route: Any) -> None:
        reads.append(route.request.url)
        response = route.fetch()
        body = response.json()
        for b in body["data"]:
            if b["status"] == "pending":
                b["hold_expires_at"] = ends
        route.fulfill(response=response, json=body)

    page.route(re.compile(r"/api/bookings\?(.*&)?booking_id="), short_hold)
    page.goto(f"/bookings/{booking['id']}")
    expect(page.get_by_role("timer")).to_contain_text(re.compile(r"Unit held for you for 0:[01]\d more"))
    # Meanwhile the booking ended (as the hold's sweep cancels it, here by the operator): nothing else on the page
    # would read it again.
    r = admin_api.client.post(f"/api/bookings/{booking['id']}/cancel")
    assert r.status_code == 200, r.text
    expect(page.get_by_text("This booking is cancelled; its dates are free again.")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("timer")).to_have_count(0)
    expect(page.get_by_role("heading", name="Pay with M-PESA")).to_have_count(0)
    assert len(reads) >= 2


def test_the_start_up_operator_without_a_phone_saves_their_name(
    new_page: Any, check_page: Any, admin_api: Any
) -> None:
    before = admin_api.client.get("/api/auth/profile").json()
    assert before["phone"] is None  # made at start-up from JESH_ADMIN_EMAIL: no phone
    page = new_page(DESKTOP)
    admin_logs_in(page)
    try:
        page.goto("/profile")
        expect(page.get_by_label("Full name")).to_have_value(before["name"])
        expect(page.get_by_label("Phone number")).to_have_value("")
        expect(page.get_by_text("Enter a Kenyan mobile number")).to_have_count(0)
        page.get_by_label("Full name").fill("Zawadi Operator")
        page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_role("status").filter(has_text="Your details are saved.")).to_be_visible()
        check_page(page, "91-profile-operator-without-phone-desktop")
        after = admin_api.client.get("/api/auth/profile").json()
        assert after["name"] == "Zawadi Operator" and after["phone"] is None
        # A phone that is not one is still refused before anything is sent.
        page.get_by_label("Phone number").fill("12345")
        expect(page.get_by_text("Enter a Kenyan mobile number such as 0712 345 678.")).to_be_visible()
        expect(page.get_by_role("button", name="Save changes")).to_be_disabled()
        # The network fails while saving: said so, and Save can be pressed again (it stayed on "Please wait…").
        page.get_by_label("Phone number").fill("")
        page.route(re.compile(r"/api/auth/profile$"),
                   lambda route: route.abort() if route.request.method == "PATCH" else route.continue_())
        page.get_by_label("Full name").fill("Zawadi O.")
        page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_text("We could not reach Jesh Storage. Check your connection")).to_be_visible()
        expect(page.get_by_role("button", name="Save changes")).to_be_enabled()
    finally:
        r = admin_api.client.patch("/api/auth/profile", json={"name": before["name"]})
        assert r.status_code == 200, r.text


def test_the_console_and_the_customer_page_through_every_booking_past_the_first_200(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    """One customer's 201 bookings (made for real, so they take time: both lists are checked on them)."""
    unit = admin_api.unit(price=3000)
    customer = register_customer(portal)
    first = nairobi_now() + timedelta(days=1)
    ids = [books(portal, customer, unit["id"], first + timedelta(days=i))["id"] for i in range(201)]
    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.goto(f"/admin/bookings?unit_id={unit['id']}")
    rows = page.get_by_role("region", name="Bookings", exact=True).locator("tbody > tr")
    expect(rows).to_have_count(200)
    expect(rows.first.get_by_role("rowheader")).to_have_text(str(ids[-1]))  # newest first
    pages = page.get_by_role("navigation", name="Pages of bookings")
    expect(pages.get_by_role("button", name="Previous")).to_be_disabled()

    pages.get_by_role("button", name="Next").click()
    expect(page).to_have_url(re.compile(r"offset=200"))
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("rowheader")).to_have_text(str(ids[0]))  # the oldest
    expect(pages.get_by_role("button", name="Next")).to_be_disabled()

    pages.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(200)
    assert "offset" not in page.url
    # Another filter starts from the first page again.
    pages.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(1)
    page.get_by_label("Status").select_option("pending")
    expect(page).not_to_have_url(re.compile(r"offset="))
    expect(rows).to_have_count(200)

    # The customer's own list, on a phone: My bookings showed the newest 200 and nothing said there were more.
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    rows = page.locator("ul.list > li")
    expect(rows).to_have_count(200)
    expect(rows.first.get_by_role("link")).to_have_attribute("href", f"/bookings/{ids[-1]}")  # newest first
    pages = page.get_by_role("navigation", name="Pages of your bookings")
    expect(pages.get_by_role("button", name="Previous")).to_be_disabled()
    pages.get_by_role("button", name="Next").click()
    expect(page).to_have_url(re.compile(r"/bookings\?offset=200$"))
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_attribute("href", f"/bookings/{ids[0]}")  # the oldest
    expect(pages.get_by_role("button", name="Next")).to_be_disabled()
    expect(page.get_by_text("You have no bookings yet.")).to_have_count(0)
    assert_no_sideways_scroll(page)
    check_page(page, "92-bookings-second-page-phone")
    pages.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(200)
    assert "offset" not in page.url


def test_the_console_pages_through_every_invoice_past_the_first_200(
    new_page: Any, admin_api: Any, portal: str
) -> None:
    # One real invoice: the first month of a monthly rental paid by M-PESA.
    customer = register_customer(portal)
    unit = admin_api.unit(price=5200, size="small")
    with httpx.Client(base_url=portal, timeout=30, headers={"Authorization": f"Bearer {customer['token']}"}) as api:
        r = api.post("/api/bookings", json={"unit_id": unit["id"], "start_date": nairobi_now().date().isoformat(),
                                            "plan": "monthly"})
        assert r.status_code == 201, r.text
        booking_id = r.json()["data"]["id"]
        r = api.post("/api/payments/mpesa/initiate", json={"booking_id": booking_id, "phone_number": PAYS})
        assert r.status_code == 200, r.text
    (real,) = wait_for(lambda: admin_api.client.get("/api/invoices", params={"booking_id": booking_id}).json()["data"]
                       or None, timeout=30, what=f"rental {booking_id}'s first invoice")
    # Billing holds few invoices here: the first page of the list is made 200 newer ones, the second is the real one.
    newer = [{**real, "id": 9_000_000 + n, "number": f"INV-T{n:05d}"} for n in range(200, 0, -1)]
    asked: list[dict[str, list[str]]] = []

    def invoices(route: Any) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        asked.append(query)
        offset = int(query.get("offset", ["0"])[0])
        route.fulfill(json={"success": True, "data": newer if offset == 0 else [real] if offset == 200 else []})

    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.route(re.compile(r"/api/invoices(\?|$)"), invoices)
    page.goto("/admin/invoices")
    rows = page.locator("tbody > tr")
    expect(rows).to_have_count(200)
    assert asked[-1].get("limit") == ["200"], asked[-1]
    pages = page.get_by_role("navigation", name="Pages of invoices")
    pages.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("rowheader")).to_have_text(real["number"])
    assert asked[-1].get("offset") == ["200"] and asked[-1].get("limit") == ["200"], asked[-1]
    expect(pages.get_by_role("button", name="Next")).to_be_disabled()
    pages.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(200)
    expect(rows.first.get_by_role("rowheader")).to_have_text("INV-T00200")


def _pages_of(rows: list[dict[str, Any]], asked: list[dict[str, list[str]]]) -> Any:
    """A route handler that answers a list as booking and billing do: `limit` rows (200 unless given, at most 1000)
    from `offset`."""

    def answer(route: Any) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        asked.append(query)
        offset = int(query.get("offset", ["0"])[0])
        limit = min(int(query.get("limit", ["200"])[0]), 1000)
        route.fulfill(json={"success": True, "data": rows[offset:offset + limit]})

    return answer


def test_a_rental_s_oldest_invoice_and_what_it_owes_are_shown_past_the_first_page(
    new_page: Any, admin_api: Any, portal: str
) -> None:
    customer = register_customer(portal)
    booking_id, real = paid_monthly_rental(portal, admin_api, customer)
    # Billing holds few invoices here: the rental's list is made 200 newer paid ones before the real one, and the
    # customer's open invoices 1000 of other bookings before one of this rental's (its balance "to pay").
    newer = [{**real, "id": 9_000_000 + n, "number": f"INV-T{n:05d}"} for n in range(200, 0, -1)]
    others = [{**real, "id": 9_100_000 + n, "number": f"INV-O{n:05d}", "booking_id": 9_100_000 + n, "status": "open",
               "balance": 100} for n in range(1000, 0, -1)]
    owing = {**real, "id": 9_200_000, "number": "INV-OWED", "status": "open", "balance": 5200}
    open_asked: list[dict[str, list[str]]] = []
    rental_rows = _pages_of([*newer, real], [])
    open_rows = _pages_of([*others, owing], open_asked)

    def invoices(route: Any) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        if query.get("booking_id") == [str(booking_id)]:
            rental_rows(route)
        elif query.get("status") == ["open"] and "booking_id" not in query:
            open_rows(route)
        else:
            route.continue_()

    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.route(re.compile(r"/api/invoices\?"), invoices)
    page.goto("/bookings")
    mine = page.locator("ul.list > li").filter(has=page.locator(f'a[href="/bookings/{booking_id}"]'))
    expect(mine).to_contain_text("To pay KES 5,200")
    assert ["1000"] in [q.get("offset") for q in open_asked], open_asked  # the second page was asked for

    page.goto(f"/bookings/{booking_id}")
    listed = page.locator("li.invoice")
    expect(listed).to_have_count(201)
    expect(listed.last).to_have_attribute("data-invoice", real["number"])


def test_a_truck_can_be_ordered_for_a_confirmed_booking_past_the_first_page(
    new_page: Any, admin_api: Any, portal: str
) -> None:
    customer = register_customer(portal)
    booking_id, _ = paid_monthly_rental(portal, admin_api, customer)
    real = admin_api.client.get("/api/bookings", params={"booking_id": booking_id}).json()["data"][0]
    # Booking holds few here: the customer's confirmed bookings are made 1000 newer ones before the real one.
    newer = [{**real, "id": 9_300_000 + n} for n in range(1000, 0, -1)]
    asked: list[dict[str, list[str]]] = []
    confirmed = _pages_of([*newer, real], asked)

    def bookings(route: Any) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        if query.get("status") == ["confirmed"]:
            confirmed(route)
        else:
            route.continue_()

    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.route(re.compile(r"/api/bookings\?"), bookings)
    page.goto("/transport")
    choice = page.get_by_label("For booking")
    expect(choice.locator("option")).to_have_count(1002)  # "no booking", and every confirmed one
    choice.select_option(str(booking_id))
    page.get_by_label("Pickup address").fill("Moi Avenue 12, Nairobi")
    page.get_by_label("Delivery address").fill("Jesh Storage, Mombasa Road")
    page.get_by_label("Distance (km)").fill("12")
    page.get_by_label("What are we moving?").fill("Two boxes and a bicycle")
    page.get_by_role("button", name="Request truck").click()
    expect(page.get_by_role("status").filter(has_text="Request received")).to_be_visible()
    made = httpx.get(f"{portal}/api/transport-requests", timeout=30,
                     headers={"Authorization": f"Bearer {customer['token']}"}).json()["data"]
    assert [r["booking_id"] for r in made] == [booking_id], made
    assert ["1000"] in [q.get("offset") for q in asked], asked  # the second page was asked for


def _paid(portal: str, customer: dict[str, Any], booking_id: int) -> None:
    """The booking paid by M-PESA (the simulator's default: success) through the API, and confirmed."""
    auth = {"Authorization": f"Bearer {customer['token']}"}
    r = httpx.post(f"{portal}/api/payments/mpesa/initiate", headers=auth, timeout=30,
                   json={"booking_id": booking_id, "phone_number": PAYS})
    assert r.status_code == 200, r.text
    wait_for(lambda: httpx.get(f"{portal}/api/bookings", params={"booking_id": booking_id}, headers=auth,
                               timeout=30).json()["data"][0]["status"] == "confirmed",
             timeout=30, what=f"booking {booking_id} confirmed")


def test_an_owner_cancels_a_paid_booking_before_it_starts_and_sees_the_refund_owed(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    unit = admin_api.unit(price=4200)
    customer = register_customer(portal)
    later = books(portal, customer, unit["id"], nairobi_now() + timedelta(days=3), days=30)
    today = books(portal, customer, unit["id"], nairobi_now(), days=2)
    _paid(portal, customer, later["id"])
    _paid(portal, customer, today["id"])
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    # Started today: booking refuses the owner (ask us to end it), so the page offers nothing.
    page.goto(f"/bookings/{today['id']}")
    expect(page.get_by_text("Booking confirmed")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel booking")).to_have_count(0)

    page.goto(f"/bookings/{later['id']}")
    expect(page.get_by_text("Booking confirmed")).to_be_visible()
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_text("This booking is cancelled; its dates are free again.")).to_be_visible()
    assert asked == ["Cancel this booking? Its dates will be released and what you paid is refunded, less any "
                     "cancellation fee."], asked
    # Payments raises the refund on hearing of the cancellation: the page reads it again until it shows.
    expect(page.get_by_role("status").filter(has_text="Refund")).to_contain_text(
        "KES 4,200 is owed back to you", timeout=30_000)
    expect(page.get_by_role("button", name="Cancel booking")).to_have_count(0)
    check_page(page, "93-booking-cancelled-by-owner-phone")
    assert_no_sideways_scroll(page)


def test_the_console_on_a_phone_does_not_scroll_sideways(new_page: Any, admin_api: Any) -> None:
    admin_api.unit()
    page = new_page(PHONE)
    admin_logs_in(page)  # lands on the units, a table wider than the phone with a hidden label in each row's button
    expect(page.locator("tbody > tr").first).to_be_visible()
    # The tabs and the table scroll inside their boxes, the page itself not at all.
    assert_no_sideways_scroll(page)


def test_a_long_payment_reference_wraps_on_a_phone_in_swahili(
    new_page: Any, admin_api: Any, portal: str
) -> None:
    customer = register_customer(portal)
    booking = books(portal, customer, admin_api.unit()["id"], nairobi_now() + timedelta(days=1), days=30)
    _paid(portal, customer, booking["id"])
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])

    def card_paid(route: Any) -> None:  # Pesapal's confirmation codes are 22 digits, unbroken
        response = route.fetch()
        body = response.json()
        body["data"].update(method="card", transaction_code="6354427275345931969310")
        route.fulfill(response=response, json=body)

    page.route(re.compile(rf"/api/payments/status/{booking['id']}$"), card_paid)
    page.get_by_role("button", name="Kiswahili").click()
    page.goto(f"/bookings/{booking['id']}")
    expect(page.get_by_text("Kumbukumbu ya Pesapal")).to_be_visible()
    expect(page.get_by_text("6354427275345931969310")).to_be_visible()
    assert_no_sideways_scroll(page)


def test_closing_an_account_names_a_live_booking_older_than_a_thousand_others(
    new_page: Any, admin_api: Any, portal: str
) -> None:
    customer = register_customer(portal, name="Juma Hamisi")
    customer_id = customer["user"]["id"]
    live = books(portal, customer, admin_api.unit()["id"], nairobi_now() + timedelta(days=2), days=30)
    # Booking holds few here: the customer's list is made 1000 newer cancelled ones before the live one.
    newer = [{**live, "id": 9_400_000 + n, "status": "cancelled"} for n in range(1000, 0, -1)]
    bookings = _pages_of([*newer, live], [])

    def theirs(route: Any) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        if query.get("user_id") == [str(customer_id)]:
            bookings(route)
        else:
            route.continue_()

    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.route(re.compile(r"/api/bookings\?"), theirs)
    page.goto(f"/admin/customers/{customer_id}")
    expect(page.get_by_role("heading", name="Juma Hamisi")).to_be_visible()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Close the account").click()
    deadline = time.monotonic() + 30
    while not dialogs and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # the page's events (the question) arrive while Playwright is waited on
    assert f"They have 1 live booking (#{live['id']})" in dialogs[0], dialogs[0]
    # Dismissed: nothing was closed.
    assert admin_api.client.get(f"/api/auth/users/{customer_id}").json()["data"].get("closed_at") is None


def test_the_messages_page_shows_the_newest_500_and_says_older_ones_are_not_shown(
    new_page: Any, portal: str
) -> None:
    customer = register_customer(portal)
    auth = {"Authorization": f"Bearer {customer['token']}"}
    (welcome,) = wait_for(lambda: httpx.get(f"{portal}/api/notifications", params={"template": "welcome"},
                                            headers=auth, timeout=30).json()["data"][:1] or None,
                          timeout=30, what="the welcome message")
    many = [{**welcome, "id": 9_500_000 + n, "body": f"Message {n}"} for n in range(600, 0, -1)]

    def messages(route: Any) -> None:  # as notifications answers: 100 unless asked, at most 500, no offset
        query = parse_qs(urlparse(route.request.url).query)
        route.fulfill(json={"success": True, "data": many[:min(int(query.get("limit", ["100"])[0]), 500)]})

    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.route(re.compile(r"/api/notifications(\?|$)"), messages)
    page.goto("/profile/notifications")
    inbox = page.get_by_role("region", name="Messages")
    expect(inbox.locator("li")).to_have_count(500)
    expect(inbox).to_contain_text("These are your newest 500 messages; older ones are not shown here.")
