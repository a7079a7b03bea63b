"""Auth's ErasureRequested (Kenya's DPA s.40): the customer who asked to be erased is told at once, by SMS and email,
in their language, whatever the opt-outs and quiet hours, that the request is in and what happens next; once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from jeshstack.testing import wait_for
from notifications.texts import NAIROBI

PREFERENCES = "/api/notifications/preferences"
EN_PHONE, SW_PHONE = "254700000061", "254700000062"
EN_EMAIL, SW_EMAIL = "amani@example.co.ke", "zawadi@example.co.ke"
# 22:30 on 11 August in UTC is 01:30 on 12 August in Nairobi: the texts name Nairobi's day.
REQUESTED_AT = "2031-08-11T22:30:00+00:00"


def quiet_now() -> str:
    """NOTIFY_QUIET_HOURS that hold right now (reminders would wait)."""
    now = datetime.now(NAIROBI)
    return f"{(now - timedelta(hours=1)):%H:00}-{(now + timedelta(hours=2)):%H:00}"


def handled(n, event_id: str) -> bool:
    with n.db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM inbox WHERE event_id = :id"), {"id": event_id}).scalar_one() > 0


def updated(n) -> str:
    """Publish an event after the ones before it (the consumer applies them in stream order); its id."""
    return str(n.publish("UserUpdated", {"user_id": 6, "email": EN_EMAIL, "phone": EN_PHONE, "name": "Amani Mwangi",
                                         "role": "user"}, source="auth")["id"])


def test_an_erasure_request_is_acknowledged_once_by_sms_and_email_in_the_customers_language(start_notifications):
    n = start_notifications(notify_quiet_hours=quiet_now(), support_phone="0711 222 333")
    n.user(6, phone=EN_PHONE, name="Amani Mwangi", email=EN_EMAIL)
    n.user(7, phone=SW_PHONE, name="Zawadi Njeri", email=SW_EMAIL, language="sw")
    # Opt-outs and quiet hours stop reminders, not an account message.
    assert n.client.put(PREFERENCES, json={"sms": False, "email": False}, headers=n.keys.headers(6)).status_code == 200
    en = n.publish("ErasureRequested", {"user_id": 6, "requested_at": REQUESTED_AT}, source="auth")
    n.publish("ErasureRequested", {"user_id": 7, "requested_at": REQUESTED_AT}, source="auth")

    n.wait_rows(4, template="erasure_requested")
    rows = {(r["user_id"], r["channel"]): r
            for r in n.wait_status("sent", "delivered", timeout=20, template="erasure_requested")}
    assert set(rows) == {(6, "sms"), (6, "email"), (7, "sms"), (7, "email")}
    assert {(r["to"], r["language"]) for r in rows.values()} == {
        (EN_PHONE, "en"), (EN_EMAIL, "en"), (SW_PHONE, "sw"), (SW_EMAIL, "sw")}
    en_sms = ("We have your request of 12 Aug 2031 to erase your personal data. We will call you to settle anything "
              "open, then erase it. You can withdraw it on your profile.")
    sw_sms = ("Tumepokea ombi lako la 12 Agosti 2031 la kufuta taarifa zako binafsi. Tutakupigia ili tumalize "
              "yaliyobaki, kisha tuzifute. Unaweza kuliondoa kwenye wasifu wako.")
    assert rows[6, "sms"]["body"] == en_sms
    assert rows[7, "sms"]["body"] == sw_sms
    assert rows[6, "email"]["subject"] == "Your request to erase your Jesh Storage data"
    assert rows[6, "email"]["body"] == (
        f"Hello Amani,\n\n{en_sms}\n\nAnything open means a rental still running or money owed either way (an unpaid "
        "invoice, or a refund due to you). Once it is settled, we close your account and erase your details; until "
        "then you can withdraw the request on your profile page.\n\nThank you,\nJesh Storage\nHelp: 0711 222 333")
    sw_email = rows[7, "email"]
    assert sw_email["subject"] == "Ombi lako la kufuta taarifa zako za Jesh Storage"
    assert sw_email["body"].startswith(f"Habari Zawadi,\n\n{sw_sms}\n\nYaliyobaki ni stoo unayoikodi bado, au pesa "
                                       "zinazodaiwa upande wowote")
    assert sw_email["body"].endswith("\n\nAsante,\nJesh Storage\nMsaada: 0711 222 333")
    # What reached the gateway and the mail server.
    assert [m["message"] for m in wait_for(lambda: n.sms.messages(EN_PHONE)[1:] or None, what="the SMS")] == [en_sms]
    mail = wait_for(lambda: [m for m in n.mail.mail(SW_EMAIL) if m["Subject"] == sw_email["subject"]] or None,
                    what="the email")
    assert f"{sw_sms}\n" in mail[0].get_body(("plain",)).get_content()

    # The same event again, past JetStream's de-duplication: once while the inbox remembers it, once after
    # retention pruned its inbox row (the handler runs again; the message's key stops it): nothing more goes.
    n.publish("ErasureRequested", en["data"], event_id=en["id"], source="auth", dedupe=False)
    after = updated(n)
    wait_for(lambda: handled(n, after), what="the event after the redelivery handled")
    with n.db.begin() as conn:
        conn.execute(text("DELETE FROM inbox WHERE event_id = :id"), {"id": en["id"]})
    n.publish("ErasureRequested", en["data"], event_id=en["id"], source="auth", dedupe=False)
    after = updated(n)
    wait_for(lambda: handled(n, after) and handled(n, en["id"]), what="the event after the second redelivery handled")
    assert len(n.rows(template="erasure_requested")) == 4
    assert len(n.rows(user_id=6, template="erasure_requested")) == 2
    assert len(n.sms.messages(EN_PHONE)) == 2  # the welcome and the acknowledgement
    assert len(n.mail.mail(EN_EMAIL)) == 2


def test_an_erasure_request_for_a_customer_not_yet_known_is_held_and_sent_once_auth_says_who_they_are(
    start_notifications
):
    n = start_notifications()
    n.auth.add(8, phone="254700000068", name="Baraka Otieno", email="baraka@example.co.ke")
    requested_at = datetime(2031, 1, 5, 9, 0, tzinfo=UTC)
    n.publish("ErasureRequested", {"user_id": 8, "requested_at": requested_at.isoformat()}, source="auth")

    rows = n.wait_status("sent", "delivered", timeout=20, user_id=8, template="erasure_requested")
    assert sorted(r["channel"] for r in rows) == ["email", "sms"]
    [sms] = [r for r in rows if r["channel"] == "sms"]
    assert sms["body"].startswith("We have your request of 5 Jan 2031 to erase your personal data.")
