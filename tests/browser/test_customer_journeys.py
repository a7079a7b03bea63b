"""A customer on a phone: signs up, books, pays by M-PESA (the Daraja simulator), sees the booking confirmed;
a failed payment shows why and a retry succeeds; the language is switchable and remembered; the footer gives the
number to call. No phone page scrolls sideways."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any

import httpx
from playwright.sync_api import expect

from jeshstack.testing import wait_for
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    assert_no_sideways_scroll,
    register_customer,
    support_phone,
    tel_href,
)


def test_a_new_customer_signs_up_on_a_phone_books_pays_and_sees_it_confirmed(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    unit = admin_api.unit(price=4200)
    page = new_page(PHONE)
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("M-PESA")
    check_page(page, "01-units-phone")
    assert_no_sideways_scroll(page)

    page.get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/signup$"))
    page.get_by_label("Full name").fill("Wanjiru Kamau")
    page.get_by_label("Email").fill(f"wanjiru-{uuid.uuid4().hex[:8]}@example.co.ke")
    page.get_by_label("Phone number").fill("0712 345 678")
    page.get_by_label("Password").fill("nyumba-yangu-2026")
    check_page(page, "02-signup-phone")
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("link", name="My bookings")).to_be_visible()

    # Find the unit in the catalogue, filtered by size, and open it.
    page.get_by_label("Size").select_option("medium")
    page.get_by_role("button", name="Show units").click()
    # Signed in, the booking page's chunk (the M-PESA prompt) is fetched while the unit page is read, not after the
    # tap on a slow connection.
    with page.expect_request(re.compile(r"/assets/BookingPage-[^/]*\.js$"), timeout=10_000):
        page.get_by_role("link", name=f"Unit {unit['unit_number']}").click()
    expect(page.get_by_role("heading", name=f"Unit {unit['unit_number']}")).to_be_visible()
    # 30 days by default: the estimate follows the server's rule, ceil(4200 * 30 / 30).
    expect(page.get_by_text("KES 4,200").first).to_be_visible()
    check_page(page, "03-unit-phone")
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Reserve and continue to payment").click()

    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    expect(page.get_by_role("heading", name="Pay with M-PESA")).to_be_visible()
    expect(page.get_by_label("M-PESA phone number")).to_have_value("0712 345 678")
    check_page(page, "04-booking-pay-phone")
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Pay KES 4,200").click()
    expect(page.get_by_role("heading", name="Check your phone")).to_be_visible()
    expect(page.get_by_text("Booking confirmed")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Confirmed").first).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("M-PESA receipt")
    check_page(page, "05-booking-confirmed-phone")
    assert_no_sideways_scroll(page)

    # Order a truck for it: the server's estimate is shown.
    page.get_by_role("link", name="Order a truck").click()
    expect(page).to_have_url(re.compile(r"/transport\?booking=\d+$"))
    page.get_by_label("Pickup address").fill("Kilimani, Argwings Kodhek Rd")
    page.get_by_label("Delivery address").fill("Jesh Storage, Mombasa Rd")
    page.get_by_label("Distance (km)").fill("12.35")  # to 10 m, as the service keeps it (the field's step was 0.1)
    page.get_by_label("What are we moving?").fill("Sofa, bed, 10 boxes")
    expect(page.get_by_text("Estimated cost: KES 2,235")).to_be_visible()
    page.get_by_role("button", name="Request truck").click()
    expect(page.get_by_role("status").filter(has_text="Request received")).to_contain_text("KES 2,235")
    expect(page.get_by_role("listitem").filter(has_text="Kilimani")).to_contain_text("Requested")
    check_page(page, "06-transport-phone")
    assert_no_sideways_scroll(page)

    page.get_by_role("link", name="My bookings", exact=True).click()
    item = page.get_by_role("listitem").filter(has_text=f"Unit {unit['unit_number']}")
    expect(item).to_contain_text("Confirmed")
    expect(item).to_contain_text("KES 4,200")
    check_page(page, "06b-my-bookings-phone")
    assert_no_sideways_scroll(page)

    # The server agrees: the unit is booked.
    assert httpx.get(f"{portal}/api/units/{unit['id']}").json()["data"]["status"] == "booked"


def test_a_failed_payment_shows_the_reason_and_a_retry_succeeds(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    unit = admin_api.unit(price=3000, size="small")
    customer = register_customer(portal, phone="0712341032")  # the simulator: 1032, cancelled by the user
    page = new_page(PHONE)
    page.goto(f"/units/{unit['id']}")
    page.get_by_role("button", name="Log in to book").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(customer["email"])
    page.get_by_label("Password").fill(customer["password"])
    check_page(page, "07-login-phone")
    assert_no_sideways_scroll(page)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=f"Unit {unit['unit_number']}")).to_be_visible()
    page.get_by_role("button", name="Reserve and continue to payment").click()

    page.get_by_role("button", name="Pay KES 3,000").click()
    alert = page.get_by_role("alert").filter(has_text="did not go through")
    expect(alert).to_contain_text("The payment was cancelled by the user", timeout=30_000)
    check_page(page, "08-payment-failed-phone")
    assert_no_sideways_scroll(page)

    page.get_by_label("M-PESA phone number").fill("0712 345 678")
    page.get_by_role("button", name="Try again: pay KES 3,000").click()
    expect(page.get_by_text("Booking confirmed")).to_be_visible(timeout=30_000)


def test_swahili_is_switchable_and_remembered(new_page: Any, check_page: Any, portal: str) -> None:
    support = support_phone(portal)  # the stack's SUPPORT_PHONE: the footer gives it, linked to call it
    page = new_page(DESKTOP)
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto("/")
    footer = page.get_by_role("contentinfo")
    expect(footer).to_contain_text(f"Help: {support}")
    expect(footer.get_by_role("link", name=support)).to_have_attribute("href", tel_href(support))
    check_page(page, "10-units-desktop")
    swahili = re.compile(r"/assets/sw-[\w-]+\.js$")
    assert not [url for url in fetched if swahili.search(url)]  # an English reader never downloads the Swahili
    page.get_by_role("button", name="Kiswahili").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hifadhi salama, lipa kwa M-PESA")
    assert [url for url in fetched if swahili.search(url)]
    expect(footer).to_contain_text(f"Msaada: {support}")
    expect(page.locator("html")).to_have_attribute("lang", "sw")
    page.reload()
    expect(page.get_by_role("link", name="Jisajili")).to_be_visible()
    expect(page.get_by_role("button", name="Kiswahili")).to_have_attribute("aria-pressed", "true")
    check_page(page, "11-units-desktop-sw")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("link", name="Sign up")).to_be_visible()


def _expiring(token: str, seconds: int) -> str:
    """The same token with an exp claim `seconds` from now (the signature no longer matches: only the client's
    decision to refresh reads it; the server never sees it because the client refreshes first)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) + seconds
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{encoded}.{signature}"


def test_a_customer_stays_logged_in_by_refresh_token_rotation_then_logs_out(
    new_page: Any, check_page: Any, portal: str
) -> None:
    customer = register_customer(portal)
    page = new_page(PHONE)
    page.goto("/login")
    page.get_by_label("Email").fill(customer["email"])
    page.get_by_label("Password").fill(customer["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/bookings$"))
    expect(page.get_by_text("You have no bookings yet.")).to_be_visible()
    read = "() => JSON.parse(localStorage.getItem('jesh.session'))"
    before = page.evaluate(read)
    # The refresh token is an HttpOnly cookie for the auth routes only: no script on the page can read it.
    assert "refresh_token" not in before
    assert "jesh_refresh" not in page.evaluate("() => document.cookie")

    def refresh_cookie() -> dict[str, Any]:
        [cookie] = [c for c in page.context.cookies() if c["name"] == "jesh_refresh"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/api/auth"
        return cookie

    spent = refresh_cookie()["value"]

    # The access token is about to expire: the next request rotates the refresh token first.
    page.evaluate("(t) => { const s = JSON.parse(localStorage.getItem('jesh.session')); s.token = t;"
                  " localStorage.setItem('jesh.session', JSON.stringify(s)); }", _expiring(before["token"], 20))
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_label("Full name")).to_have_value("Akinyi Otieno")
    expect(page.get_by_label("Phone number")).to_have_value("0712 345 678")
    after = page.evaluate(read)
    current = refresh_cookie()["value"]
    assert current != spent  # rotated
    assert after["token"] != before["token"]

    # Edit the profile: the new phone is what the next M-PESA prompt will go to.
    page.get_by_label("Phone number").fill("0722 000 111")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Your details are saved.")).to_be_visible()
    assert page.evaluate(read)["user"]["phone"] == "254722000111"
    token = page.evaluate(read)["token"]
    profile = httpx.get(f"{portal}/api/auth/profile", headers={"Authorization": f"Bearer {token}"})
    assert profile.json()["phone"] == "254722000111"
    check_page(page, "09-profile-phone")
    assert_no_sideways_scroll(page)

    page.goto("/units/1/nothing-here")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    check_page(page, "12-not-found-phone")
    assert_no_sideways_scroll(page)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert page.evaluate(read) is None
    # Logged out: that refresh token family is revoked on the server, and the cookie is gone.
    assert not [c for c in page.context.cookies() if c["name"] == "jesh_refresh"]
    r = httpx.post(f"{portal}/api/auth/refresh", json={"refresh_token": current}, timeout=10)
    assert r.status_code == 401


def reserved_on_a_phone(new_page: Any, admin_api: Any, portal: str, *, price: int) -> tuple[Any, str]:
    """A new customer logged in on a phone who has reserved a new unit at `price`: the page, on the booking's URL."""
    unit = admin_api.unit(price=price, size="small")
    customer = register_customer(portal)
    page = new_page(PHONE)
    page.goto("/login")
    page.get_by_label("Email").fill(customer["email"])
    page.get_by_label("Password").fill(customer["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/bookings$"))
    page.goto(f"/units/{unit['id']}")
    page.get_by_role("button", name="Reserve and continue to payment").click()
    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    return page, page.url


def test_a_customer_pays_by_card_on_the_pesapal_page_and_comes_back_confirmed(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    page, booking_url = reserved_on_a_phone(new_page, admin_api, portal, price=3600)
    page.get_by_role("button", name="Pay by card or Airtel Money").click()

    # Pesapal's page (the simulator): a declined card first, then a good one.
    page.get_by_label("Card number").fill("4000000000000002")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="The card payment did not go through")).to_be_visible()
    check_page(page, "13-card-declined-phone")
    assert_no_sideways_scroll(page)
    page.get_by_role("link", name="Back to the booking").click()
    expect(page).to_have_url(booking_url)
    page.get_by_role("button", name="Pay by card or Airtel Money").click()
    page.get_by_label("Card number").fill("4111111111111111")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page).to_have_url(booking_url, timeout=30_000)
    expect(page.get_by_text("Booking confirmed")).to_be_visible(timeout=30_000)
    # Its receipt is Pesapal's, not an M-PESA one.
    facts = page.locator(".facts")
    expect(facts).to_contain_text("Pesapal ref")
    expect(facts).not_to_contain_text("M-PESA")
    check_page(page, "13b-card-confirmed-phone")
    assert_no_sideways_scroll(page)


def test_a_customer_who_left_the_pesapal_page_unpaid_pays_by_mpesa_at_once(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    page, booking_url = reserved_on_a_phone(new_page, admin_api, portal, price=3300)
    page.get_by_role("button", name="Pay by card or Airtel Money").click()
    expect(page.get_by_label("Card number")).to_be_visible()

    page.goto(booking_url)  # the customer leaves Pesapal's page without paying
    expect(page.get_by_role("status").filter(has_text="A card payment was started")).to_be_visible()
    expect(page.get_by_text("Check your phone")).to_have_count(0)  # no M-PESA prompt to wait for
    check_page(page, "13c-card-left-open-phone")
    page.get_by_role("button", name="Pay KES 3,300").click()  # M-PESA at once: not "already in progress"
    expect(page.get_by_text("Booking confirmed")).to_be_visible(timeout=30_000)


def test_a_customer_reads_their_messages_and_sets_how_to_be_reached(
    new_page: Any, check_page: Any, portal: str
) -> None:
    customer = register_customer(portal)
    headers = {"Authorization": f"Bearer {customer['token']}"}
    # The welcome message follows the registration by an event.
    wait_for(lambda: httpx.get(f"{portal}/api/notifications", headers=headers).json()["data"], timeout=30,
             what="the welcome message")
    page = new_page(PHONE)
    page.goto("/login")
    page.get_by_label("Email").fill(customer["email"])
    page.get_by_label("Password").fill(customer["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/bookings$"))
    page.get_by_role("link", name="Messages").click()
    expect(page.locator(".message-body").first).to_contain_text("Akinyi")
    check_page(page, "14-messages-phone")
    assert_no_sideways_scroll(page)

    page.get_by_label("SMS reminders").uncheck()
    page.get_by_label("Kiswahili").check()
    page.get_by_role("button", name="Save preferences").click()
    # The language of the messages is the portal's too from now on.
    expect(page.get_by_role("status").filter(has_text="Mapendeleo yamehifadhiwa.")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "sw")
    prefs = httpx.get(f"{portal}/api/notifications/preferences", headers=headers).json()["data"]
    assert prefs["sms"] is False and prefs["email"] is True and prefs["language"] == "sw"
    check_page(page, "15-messages-phone-sw")
    assert_no_sideways_scroll(page)
