"""Auth's password events: the reset link goes by email only, at once, and no listing ever shows it; a changed
password is told by SMS and email, at once, with the time it happened."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from jeshstack.procs import free_port
from jeshstack.testing import wait_for
from notifications.links import reset_link, without_secret_links
from notifications.texts import NAIROBI

PHONE = "254700000001"
EMAIL = "wanjiku@example.co.ke"
PREFERENCES = "/api/notifications/preferences"


def quiet_now() -> str:
    """NOTIFY_QUIET_HOURS that hold right now (reminders would wait)."""
    now = datetime.now(NAIROBI)
    return f"{(now - timedelta(hours=1)):%H:00}-{(now + timedelta(hours=2)):%H:00}"


def reset_requested(user_id: int, token: str, expires: datetime) -> dict[str, object]:
    return {"user_id": user_id, "token": token, "expires_at": expires.isoformat()}


def test_a_reset_link_goes_at_once_by_email_only_whatever_the_quiet_hours_and_the_choices(start_notifications):
    n = start_notifications(notify_quiet_hours=quiet_now(), portal_url="https://jesh.example.co.ke/")
    n.user(1, phone=PHONE, email=EMAIL)
    # The customer wants SMS and no email: the link still goes, by email and only by email.
    r = n.client.put(PREFERENCES, json={"sms": True, "email": False}, headers=n.keys.headers(1))
    assert r.status_code == 200, r.text
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    n.publish("PasswordResetRequested", reset_requested(1, token, expires), source="auth")

    rows = n.wait_status("sent", template="password_reset")
    assert [(r["channel"], r["to"]) for r in rows] == [("email", EMAIL)]
    mail = wait_for(lambda: [m for m in n.mail.mail(EMAIL) if m["Subject"] == "Choose a new Jesh Storage password"],
                    what="the reset email")
    plain, html = (part.get_content() for part in mail[0].iter_parts())
    link = f"https://jesh.example.co.ke/reset-password#token={token}"
    nairobi = expires.astimezone(NAIROBI).strftime("%H:%M")
    assert f"open this link before {nairobi}:\n\n{link}\n" in plain
    assert "If you did not ask for it, ignore this email: your password stays the same." in plain
    assert f'<a href="{link}">{link}</a>' in html
    assert not any("password" in m["message"] for m in n.sms.messages(PHONE))
    # Sent: the stored copy keeps the words, not the token.
    assert token not in rows[0]["body"] and rows[0]["body"].startswith("Hello Wanjiku,")


def test_no_listing_shows_a_reset_link_neither_to_its_owner_nor_to_an_admin(start_notifications):
    # The mail server is away: the email waits in the queue with its link (the sender needs it), then fails.
    n = start_notifications(smtp_url=f"smtp://127.0.0.1:{free_port()}", notify_max_attempts=4,
                            notify_retry_base_seconds=1.0, notify_retry_max_seconds=4.0)
    n.user(4, phone="254700000004", language="sw")
    token = secrets.token_urlsafe(32)
    n.publish("PasswordResetRequested", reset_requested(4, token, datetime.now(UTC) + timedelta(minutes=30)),
              source="auth")
    assert token in n.wait_rows(1, template="password_reset")[0]["body"]

    admin = n.keys.headers(900, "admin")
    for headers, params in ((n.keys.headers(4), {}), (admin, {}),
                            (admin, {"user_id": 4, "template": "password_reset", "channel": "email"})):
        r = n.client.get("/api/notifications", params=params, headers=headers)
        assert r.status_code == 200, r.text
        assert token not in r.text
        shown = [m for m in r.json()["data"] if m["template"] == "password_reset"]
        assert len(shown) == 1 and shown[0]["body"].startswith("Habari Wanjiku,")
        assert "\n\n[kiungo kimefichwa: kiko kwenye barua pepe pekee]\n\n" in shown[0]["body"]
    # Listed while its stored body still had the token:
    assert n.rows(template="password_reset")[0]["status"] == "queued"

    failed = n.wait_status("failed", template="password_reset", timeout=20)
    assert token not in failed[0]["body"]  # failed for good: not kept either


def test_a_changed_password_is_told_at_once_by_sms_and_email_with_its_time_in_the_users_language(
        start_notifications):
    n = start_notifications(notify_quiet_hours=quiet_now())
    n.user(2, phone="254700000002", email="two@example.co.ke")
    n.user(3, phone="254700000003", language="sw")
    # Opt-outs stop reminders, not a security message.
    r = n.client.put(PREFERENCES, json={"sms": False, "email": False}, headers=n.keys.headers(2))
    assert r.status_code == 200, r.text
    at = datetime(2030, 5, 1, 18, 47, tzinfo=UTC)  # 21:47 in Nairobi
    n.publish_at("PasswordChanged", {"user_id": 2, "how": "changed"}, occurred_at=at, source="auth")
    n.publish_at("PasswordChanged", {"user_id": 3, "how": "reset"}, occurred_at=at, source="auth")

    n.wait_rows(4, template="password_changed")
    rows = {(r["user_id"], r["channel"]): r for r in n.wait_status("sent", "delivered", template="password_changed")}
    assert set(rows) == {(2, "sms"), (2, "email"), (3, "sms"), (3, "email")}
    assert rows[2, "sms"]["body"] == (
        'Your Jesh Storage password was changed at 21:47 from your account. If this was not you, reset it at once '
        'with "Forgot your password?" on the login page.')
    assert rows[3, "sms"]["body"] == (
        "Nenosiri lako la Jesh Storage limebadilishwa saa 21:47 kwa kiungo kilichotumwa kwenye barua pepe yako. "
        "Kama si wewe, piga 0700 000 000 mara moja.")
    email = rows[3, "email"]
    assert email["language"] == "sw" and email["subject"] == "Nenosiri lako la Jesh Storage limebadilishwa"
    assert email["body"].startswith("Habari Wanjiku,") and rows[3, "sms"]["body"] in email["body"]
    sms = wait_for(lambda: [m["message"] for m in n.sms.messages("254700000002") if "password" in m["message"]],
                   what="the SMS at the gateway")
    assert sms == [rows[2, "sms"]["body"]]
    assert [m["Subject"] for m in n.mail.mail("two@example.co.ke")
            if "password" in m["Subject"]] == ["Your Jesh Storage password was changed"]


def test_the_reset_link_quotes_its_token_and_a_listing_hides_every_link_with_a_token():
    assert reset_link("https://jesh.example.co.ke/", "a/b+c d") == (
        "https://jesh.example.co.ke/reset-password#token=a%2Fb%2Bc%20d")
    body = ("Open this link before 14:35:\n\nhttps://x.example/reset-password#token=abc\n\n"
            "Or this one (https://x.example/reset-password#token=) once.")
    assert without_secret_links(body, "[hidden]") == (
        "Open this link before 14:35:\n\n[hidden]\n\nOr this one [hidden] once.")
    assert without_secret_links("Hello Wanjiku, https://x.example/units", "[hidden]") == (
        "Hello Wanjiku, https://x.example/units")


def test_the_links_go_to_the_portal_url_else_to_the_gateway():
    from notifications.settings import Settings

    assert Settings(public_base_url="https://api.jesh.example").portal_base_url == "https://api.jesh.example"
    both = Settings(public_base_url="https://api.jesh.example", portal_url="https://jesh.example")
    assert both.portal_base_url == "https://jesh.example"


def test_a_parked_reset_is_listed_without_its_token_and_replayed_with_it(start_notifications):
    n = start_notifications()
    n.user(5, phone="254700000005", email="baraka@example.co.ke")
    token = secrets.token_urlsafe(32)
    envelope = {"id": str(uuid.uuid4()), "type": "PasswordResetRequested", "version": 1,
                "occurred_at": datetime.now(UTC).isoformat(), "source": "auth",
                "data": reset_requested(5, token, datetime.now(UTC) + timedelta(minutes=30))}
    with n.db.begin() as conn:  # parked as the consumer parks a message (say the database was away too long)
        letter = conn.scalar(text(
            "INSERT INTO dead_letter (consumer, event_id, subject, payload, error, deliveries) VALUES "
            "('notifications', :id, 'jesh.events.PasswordResetRequested', :payload, 'OperationalError: away', 9) "
            "RETURNING id"), {"id": envelope["id"], "payload": json.dumps(envelope)})
    admin = n.keys.headers(900, "admin")

    listed = n.client.get("/api/notifications/admin/dead-letters", headers=admin)

    assert listed.status_code == 200, listed.text
    assert token not in listed.text
    (parked,) = [d for d in listed.json()["data"] if d["id"] == letter]
    assert json.loads(parked["payload"])["data"] == {**envelope["data"], "token": "[hidden]"}
    replayed = n.client.post(f"/api/notifications/admin/dead-letters/{letter}/replay", headers=admin)
    assert replayed.status_code == 200, replayed.text
    mail = wait_for(lambda: [m for m in n.mail.mail("baraka@example.co.ke")
                             if m["Subject"] == "Choose a new Jesh Storage password"] or None, what="the reset email")
    assert f"#token={token}" in mail[0].get_body(("plain",)).get_content()


def test_an_account_opened_at_the_desk_gets_its_first_password_link_by_email_with_the_day_it_ends(
    start_notifications
):
    n = start_notifications(portal_url="https://jesh.example.co.ke")
    n.user(5, phone=PHONE, email=EMAIL)
    token = secrets.token_urlsafe(32)
    expires = datetime(2031, 1, 12, 21, 30, tzinfo=UTC)  # 00:30 on 13 January in Nairobi
    n.publish("PasswordResetRequested", {**reset_requested(5, token, expires), "purpose": "invite"}, source="auth")

    rows = n.wait_status("sent", template="account_invite")
    assert [(r["channel"], r["to"]) for r in rows] == [("email", EMAIL)]
    mail = wait_for(lambda: [m for m in n.mail.mail(EMAIL)
                             if m["Subject"] == "Your Jesh Storage account: choose your password"], what="the invite")
    plain = next(iter(mail[0].iter_parts())).get_content()
    assert f"open this link before 13 Jan 2031:\n\nhttps://jesh.example.co.ke/reset-password#token={token}\n" in plain
    assert not n.rows(template="password_reset")
    assert token not in rows[0]["body"]  # scrubbed once sent, as a reset link is


def test_the_owner_is_told_at_once_when_an_operator_closes_reopens_or_changes_the_account(start_notifications):
    n = start_notifications(notify_quiet_hours=quiet_now(), support_phone="0711 222 333")
    n.user(4, phone="254700000004", email="four@example.co.ke")
    n.user(5, phone="254700000005", language="sw")
    # Opt-outs and quiet hours stop reminders, not a security message.
    assert n.client.put(PREFERENCES, json={"sms": False, "email": False}, headers=n.keys.headers(4)).status_code == 200
    at = datetime(2030, 5, 1, 6, 5, tzinfo=UTC)  # 09:05 in Nairobi
    for change, role in [("role", "admin"), ("closed", "admin"), ("reopened", "admin")]:
        n.publish_at("AccountChanged", {"user_id": 4, "change": change, "role": role}, occurred_at=at, source="auth")
    n.publish_at("AccountChanged", {"user_id": 5, "change": "role", "role": "user"}, occurred_at=at, source="auth")
    n.wait_rows(8, user_id=4)  # the welcome and three changes, each by SMS and email
    n.wait_rows(4, user_id=5)

    rows = n.wait_status("sent", "delivered", user_id=4, channel="sms")
    by_template = {r["template"]: r["body"] for r in rows if r["template"] != "welcome"}
    assert by_template == {
        "role_changed": "Your Jesh Storage account is now an operator account (changed at 09:05). If you did not "
                        "expect this, call 0711 222 333 at once.",
        "account_closed": "Your Jesh Storage account was closed at 09:05. Your bookings and invoices are kept. If this "
                          "is a mistake, call 0711 222 333.",
        "account_reopened": "Your Jesh Storage account is open again: sign in as before. If you did not ask for this, "
                            "call 0711 222 333.",
    }
    emails = [r for r in n.wait_status("sent", "delivered", user_id=4, channel="email") if r["template"] != "welcome"]
    assert sorted(r["template"] for r in emails) == ["account_closed", "account_reopened", "role_changed"]
    [sw] = [r for r in n.wait_status("sent", "delivered", user_id=5, channel="sms") if r["template"] == "role_changed"]
    assert sw["body"] == ("Akaunti yako ya Jesh Storage sasa ni akaunti ya mteja (saa 09:05). Kama hukutarajia hili, "
                          "piga 0711 222 333 mara moja.")
