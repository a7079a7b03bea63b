"""The operator console's customer directory: an operator finds a new customer by the phone number they gave (in the
07… form people say it), opens their page, makes them an admin and a customer again, signs them out on every
device (their refresh and access tokens refused from then on), sees their name beside their id in the bookings
table, and closes the account (told first of the booking still pending) and reopens it."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from jeshstack.testing import wait_for
from smtp_sim import read_mail
from tests.browser.conftest import DESKTOP, admin_logs_in, register_customer, support_phone


def _log_in(portal: str, email: str, password: str) -> dict[str, Any]:
    r = httpx.post(f"{portal}/api/auth/login", json={"email": email, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _refresh(portal: str, refresh_token: str) -> httpx.Response:
    return httpx.post(f"{portal}/api/auth/refresh", json={"refresh_token": refresh_token}, timeout=30)


def test_an_operator_finds_a_customer_by_phone_changes_their_role_and_signs_them_out(
    new_page: Any, check_page: Any, admin_api: Any, portal: str
) -> None:
    phone = f"07{random.randrange(10**8):08d}"  # unique enough to be the only match
    name = f"Wanjiru Kamau {uuid.uuid4().hex[:6]}"
    customer = register_customer(portal, phone=phone, name=name)
    customer_id = customer["user"]["id"]
    shown_phone = f"{phone[:4]} {phone[4:7]} {phone[7:]}"

    page = new_page(DESKTOP)
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    admin_logs_in(page)

    # The directory: searched by the phone number as the customer would say it.
    page.get_by_role("link", name="Customers").click()
    expect(page).to_have_url(re.compile(r"/admin/customers$"))
    expect(page.get_by_role("heading", name="Customers", level=1)).to_be_visible()
    page.get_by_label("Name, email or phone").fill(phone)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"/admin/customers\?q={phone}$"))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(customer["email"])
    expect(rows.first).to_contain_text(shown_phone)
    expect(rows.first).to_contain_text("Customer")
    check_page(page, "50-console-customers-desktop")
    # Only accounts under the login guard: not this one.
    guard_filter = page.get_by_label("Login guard on")
    guard_filter.click()  # not check(): the box follows the URL, which the router commits a moment later
    expect(page).to_have_url(re.compile(r"guarded=1"))
    expect(guard_filter).to_be_checked()
    expect(page.get_by_text("No customer matches.")).to_be_visible()
    guard_filter.click()
    expect(guard_filter).not_to_be_checked()
    expect(rows).to_have_count(1)

    # Their page.
    page.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(rf"/admin/customers/{customer_id}$"))
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    facts = page.locator(".facts")
    expect(facts).to_contain_text(customer["email"])
    expect(facts).to_contain_text(shown_phone)
    expect(facts.locator("div").filter(has_text="Login guard")).to_contain_text("Off")
    expect(page.get_by_role("button", name="Lift login guard")).to_have_count(0)
    check_page(page, "51-console-customer-desktop")

    # Made an admin, then a customer again (which ends the sessions they had).
    page.get_by_role("button", name="Make admin").click()
    expect(page.get_by_role("status").filter(has_text=f"{name} is now an admin.")).to_be_visible()
    assert dialogs[-1].startswith(f"Make {name} an admin?")
    assert admin_api.client.get(f"/api/auth/users/{customer_id}").json()["data"]["role"] == "admin"
    page.get_by_role("button", name="Make customer").click()
    expect(page.get_by_role("status").filter(has_text=f"{name} is now a customer")).to_be_visible()
    assert admin_api.client.get(f"/api/auth/users/{customer_id}").json()["data"]["role"] == "user"
    expect(page.get_by_role("button", name="Make admin")).to_be_visible()
    assert _refresh(portal, customer["refresh_token"]).status_code == 401

    # Signed in on two devices again, then signed out everywhere by the operator.
    phone_session = _log_in(portal, customer["email"], customer["password"])
    laptop_session = _log_in(portal, customer["email"], customer["password"])
    rotated = _refresh(portal, phone_session["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    page.reload()
    expect(facts.locator("div").filter(has_text="Signed-in devices")).to_contain_text("2")
    # What was sent to them (by now at least the welcome, by SMS to the number they gave).
    sent = page.get_by_role("region", name=re.compile(r"^Messages sent"))
    expect(sent).to_contain_text("Karibu Jesh Storage")
    expect(sent).to_contain_text(f"SMS · {shown_phone}")
    page.get_by_role("button", name="Sign out everywhere").click()
    expect(page.get_by_role("status").filter(has_text=f"{name} is signed out on every device.")).to_be_visible()
    assert "log in again" in dialogs[-1]
    expect(facts.locator("div").filter(has_text="Signed-in devices")).to_contain_text("0")
    for refresh_token in (rotated.json()["refresh_token"], laptop_session["refresh_token"]):
        assert _refresh(portal, refresh_token).status_code == 401
    # Their access tokens, minutes from expiry, are refused too, by every service (ended sessions).
    laptop = {"Authorization": f"Bearer {laptop_session['token']}"}
    wait_for(lambda: httpx.get(f"{portal}/api/bookings", headers=laptop, timeout=30).status_code == 401,
             what="the laptop's access token refused")

    # The customer books (a new login): the bookings table shows their name beside their id, both linked.
    session = _log_in(portal, customer["email"], customer["password"])
    unit = admin_api.unit(price=3100, size="small")
    start = (datetime.now(UTC) + timedelta(hours=3)).date() + timedelta(days=1)  # tomorrow in Nairobi
    r = httpx.post(f"{portal}/api/bookings", headers={"Authorization": f"Bearer {session['token']}"}, timeout=30,
                   json={"unit_id": unit["id"], "start_date": start.isoformat(),
                         "end_date": (start + timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    booking_id = r.json()["data"]["id"]
    page.get_by_role("region", name="Records").get_by_role("link", name="Bookings").click()
    expect(page).to_have_url(re.compile(rf"/admin/bookings\?user_id={customer_id}$"))
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=str(booking_id)))
    expect(row).to_contain_text(f"{customer_id} · {name}")
    page.get_by_role("navigation", name="Console sections").get_by_role("link", name="Bookings").click()
    expect(page).to_have_url(re.compile(r"/admin/bookings$"))
    expect(row).to_contain_text(f"{customer_id} · {name}")
    expect(row.get_by_role("link", name=str(customer_id), exact=True)).to_have_attribute(
        "href", f"/admin/bookings?user_id={customer_id}")
    check_page(page, "52-console-bookings-names-desktop")
    row.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(rf"/admin/customers/{customer_id}$"))

    # Their other records: invoices and transport requests, filtered to them.
    records = page.get_by_role("region", name="Records")
    records.get_by_role("link", name="Invoices").click()
    expect(page).to_have_url(re.compile(rf"/admin/invoices\?user_id={customer_id}$"))
    expect(page.get_by_text(f"Customer #{customer_id} · {name}")).to_be_visible()
    page.go_back()
    records.get_by_role("link", name="Transport requests").click()
    expect(page).to_have_url(re.compile(rf"/admin/transport\?user_id={customer_id}$"))
    expect(page.get_by_role("link", name="Every customer")).to_be_visible()

    # The customer has a new number: the operator corrects it on their page.
    page.goto(f"/admin/customers/{customer_id}")
    page.get_by_role("button", name="Correct the details").click()
    form = page.get_by_role("form", name="Correct the details")
    form.get_by_label("Phone number").fill("0722 333 444")
    form.get_by_role("button", name="Save the details").click()
    expect(page.get_by_role("status").filter(has_text="The details are saved")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("0722 333 444")
    assert admin_api.client.get(f"/api/auth/users/{customer_id}").json()["data"]["phone"] == "254722333444"

    # The customer leaves: the operator closes the account (their password no longer opens it), then reopens it.
    # The confirmation first names the booking still pending (billing goes on, and they could not log in to pay).
    page.get_by_role("button", name="Close the account").click()
    expect(page.get_by_role("status").filter(has_text=f"{name}'s account is closed.")).to_be_visible()
    assert dialogs[-1].startswith(f"Close {name}'s account?"), dialogs[-1]
    assert f"They have 1 live booking (#{booking_id})" in dialogs[-1], dialogs[-1]
    expect(page.locator(".facts")).to_contain_text("Closed since")
    closed = httpx.post(f"{portal}/api/auth/login", json={"email": customer["email"], "password": customer["password"]},
                        timeout=30)
    assert closed.status_code == 403
    check_page(page, "54-console-customer-closed-desktop")
    at_home = new_page(DESKTOP)  # the customer tries to log in: told why, in words
    at_home.goto("/login")
    at_home.get_by_label("Email").fill(customer["email"])
    at_home.get_by_label("Password").fill(customer["password"])
    at_home.get_by_role("button", name="Log in").click()
    expect(at_home.get_by_role("alert")).to_contain_text(
        f"This account is closed. Please call Jesh Storage on {support_phone(portal)} to open it again.")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reopen the account").click()
    expect(page.get_by_role("status").filter(has_text=f"{name}'s account is open again.")).to_be_visible()
    _log_in(portal, customer["email"], customer["password"])

    # The operator's own page: no role change offered; an unknown console path is the portal's "not found".
    me = admin_api.client.get("/api/auth/profile").json()
    page.goto(f"/admin/customers/{me['id']}")
    expect(page.get_by_text("This is your own account")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Make "))).to_have_count(0)
    expect(page.get_by_role("button", name="Close the account")).to_have_count(0)
    page.goto("/admin/nothing-here")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_an_operator_opens_an_account_at_the_desk_and_the_customer_chooses_a_password_from_the_email(
    new_page: Any, check_page: Any, portal: str, portal_stack: Any
) -> None:
    email = f"dawati-{uuid.uuid4().hex[:8]}@example.co.ke"
    page = new_page(DESKTOP)
    admin_logs_in(page)
    page.goto("/admin/customers")
    page.get_by_text("Open an account for a customer").click()
    page.get_by_role("button", name="Open the account").click()  # nothing filled in: told what is missing
    expect(page.get_by_text("Enter the customer's name.")).to_be_visible()
    page.get_by_label("Full name").fill("Atieno Walk-in")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Phone number").fill("0711 222 333")
    check_page(page, "53-console-open-account-desktop")
    page.get_by_role("button", name="Open the account").click()

    expect(page).to_have_url(re.compile(r"/admin/customers/\d+$"))
    expect(page.get_by_role("heading", name="Atieno Walk-in", level=1)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text=f"A link to choose a password is on its way to {email}"))\
        .to_be_visible()

    # The customer says the email did not come: the operator sends a password link as well (the usual reset email).
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Email a password link").click()
    expect(page.get_by_role("status").filter(has_text=f"is on its way to {email} (a few links")).to_be_visible()
    wait_for(lambda: [m for m in read_mail(portal_stack.mail_dir) if m["To"] == email
                      and m["Subject"] == "Choose a new Jesh Storage password"] or None, timeout=30,
             what="the reset email")

    # The customer reads the first email and chooses a password on the page its link opens: signed in.
    (mail,) = wait_for(lambda: [m for m in read_mail(portal_stack.mail_dir) if m["To"] == email
                                and m["Subject"] == "Your Jesh Storage account: choose your password"] or None,
                       timeout=30, what="the email with the link")
    link = re.search(r"(https?://\S+/reset-password#token=[A-Za-z0-9_-]+)",
                     mail.get_body(("plain",)).get_content())
    assert link
    customer = new_page(DESKTOP)
    customer.goto(link.group(1))
    customer.get_by_label("New password", exact=True).fill("dawati-salama-2027")
    customer.get_by_label("Repeat the new password").fill("dawati-salama-2027")
    customer.get_by_role("button", name="Save the new password").click()
    expect(customer).to_have_url(re.compile(r"/bookings$"))
    assert _log_in(portal, email, "dawati-salama-2027")["user"]["phone"] == "254711222333"
