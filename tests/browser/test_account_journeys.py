"""A customer who forgot their password asks for a link, reads the email (the SMTP simulator), chooses a new password
on the page the link opens and is signed in; later they change it on their profile, and sign out on every other
device (a lost phone). Each time the sessions they had are over, and they are told by SMS and email."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from jeshstack.testing import wait_for
from smtp_sim import read_mail
from tests.browser.conftest import DESKTOP, PHONE, register_customer


def mails(stack: Any, email: str, subject: str) -> list[Any]:
    return [m for m in read_mail(stack.mail_dir) if m["To"] == email and m["Subject"] == subject]


def login(portal: str, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{portal}/api/auth/login", json={"email": email, "password": password}, timeout=10)


def test_a_customer_resets_a_forgotten_password_by_email_then_changes_it_on_the_profile(
    new_page: Any, check_page: Any, portal: str, portal_stack: Any
) -> None:
    customer = register_customer(portal, phone="0712000333")
    email, old_session = customer["email"], customer["refresh_token"]
    page = new_page(PHONE)

    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/forgot-password$"))
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_text("If an account has this email, we have sent it a link")).to_be_visible()
    check_page(page, "40-forgot-password-phone")

    # The email notifications sent (never an SMS: the link is a secret).
    (mail,) = wait_for(lambda: mails(portal_stack, email, "Choose a new Jesh Storage password") or None,
                       timeout=30, what="the password reset email")
    text = mail.get_body(("plain",)).get_content()
    link = re.search(r"(https?://\S+/reset-password#token=[A-Za-z0-9_-]+)", text)
    assert link, text
    assert link.group(1).startswith(portal)  # PUBLIC_BASE_URL: the gateway
    page.goto(link.group(1))
    expect(page.get_by_label("New password", exact=True)).to_be_visible()
    assert "#token" not in page.url  # taken out of the address bar (and the history)
    page.get_by_label("New password", exact=True).fill("mpya-kabisa-2027")
    page.get_by_label("Repeat the new password").fill("mpya-kabisa-2027")
    check_page(page, "41-reset-password-phone")
    page.get_by_role("button", name="Save the new password").click()
    expect(page).to_have_url(re.compile(r"/bookings$"))  # signed in

    assert login(portal, email, customer["password"]).status_code == 401
    assert login(portal, email, "mpya-kabisa-2027").status_code == 200
    refused = httpx.post(f"{portal}/api/auth/refresh", json={"refresh_token": old_session}, timeout=10)
    assert refused.status_code == 401  # the session from before the reset is over
    # The same link does not work twice.
    again = httpx.post(f"{portal}/api/auth/password-reset/confirm",
                       json={"token": link.group(1).split("#token=")[1], "password": "third-time-2027"}, timeout=10)
    assert again.status_code == 400

    # Later, signed in on a computer, they change it on their profile.
    desk = new_page(DESKTOP)
    desk.goto("/login")
    desk.get_by_label("Email").fill(email)
    desk.get_by_label("Password").fill("mpya-kabisa-2027")
    desk.get_by_role("button", name="Log in").click()
    expect(desk).to_have_url(re.compile(r"/bookings$"))
    desk.goto("/profile")
    section = desk.get_by_role("form", name="Change password")
    section.get_by_label("Current password").fill("not-the-password")
    section.get_by_label("New password", exact=True).fill("ya-tatu-salama-2028")
    section.get_by_label("Repeat the new password").fill("ya-tatu-salama-2028")
    section.get_by_role("button", name="Change password").click()
    expect(section.get_by_text("That is not your current password.")).to_be_visible()
    section.get_by_label("Current password").fill("mpya-kabisa-2027")
    section.get_by_role("button", name="Change password").click()
    expect(desk.get_by_role("status").filter(has_text="Your password is changed")).to_be_visible()
    check_page(desk, "42-change-password-desktop")
    # Still signed in on this computer (its new session), with the new password from now on.
    desk.reload()
    expect(desk.get_by_role("form", name="Change password")).to_be_visible()
    assert login(portal, email, "mpya-kabisa-2027").status_code == 401
    phone_session = login(portal, email, "ya-tatu-salama-2028")
    assert phone_session.status_code == 200

    # Their phone is lost: from the computer they sign out on every other device, and stay signed in here.
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.get_by_role("button", name="Sign out on every other device").click()
    expect(desk.get_by_role("status").filter(has_text="You are signed out on every other device")).to_be_visible()
    refreshed = httpx.post(f"{portal}/api/auth/refresh", json={"refresh_token": phone_session.json()["refresh_token"]},
                           timeout=10)
    assert refreshed.status_code == 401
    lost_phone = {"Authorization": f"Bearer {phone_session.json()['token']}"}
    wait_for(lambda: httpx.get(f"{portal}/api/bookings", headers=lost_phone, timeout=10).status_code == 401,
             what="the lost phone's access token refused")
    desk.reload()  # the profile is read again with this computer's new session
    expect(desk.get_by_label("Email")).to_have_value(email)
    expect(desk).to_have_url(re.compile(r"/profile$"))

    # A copy of their data, from every service, as one file.
    with desk.expect_download() as download:
        desk.get_by_role("button", name="Download my data").click()
    assert re.fullmatch(r"jesh-my-data-\d{4}-\d{2}-\d{2}\.json", download.value.suggested_filename)
    mine = json.loads(Path(download.value.path()).read_text())
    assert mine["account"]["email"] == email
    assert {"bookings", "invoices", "transport_requests", "messages", "message_preferences"} <= mine.keys()
    assert any(m["template"] == "password_changed" for m in mine["messages"])
    assert "#token=" not in json.dumps(mine)  # the reset links are not in it

    # Told each time, by email (and SMS), in case it was not them.
    wait_for(lambda: len(mails(portal_stack, email, "Your Jesh Storage password was changed")) == 2 or None,
             timeout=30, what="two password-changed emails")
