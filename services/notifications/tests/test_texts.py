"""The message texts: every template in every language renders, fits one SMS, and is plain GSM text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from notifications.quiet import QuietHours
from notifications.texts import DEV_SUPPORT_PHONE, EMAIL_ONLY, LANGUAGES, PESAPAL_CODE, SAMPLES, Phrase, Texts, money

# The GSM 03.38 basic character set: anything else makes a UCS-2 SMS of 70 characters.
GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
          "¿abcdefghijklmnopqrstuvwxyzäöñüà")
LONGEST_SUPPORT_PHONE = "+254 712 345 678"  # SUPPORT_PHONE allows 16 characters: every SMS must still fit


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", sorted(SAMPLES))
def test_every_template_fits_one_gsm_sms(language, template):
    rendered = Texts(support_phone=LONGEST_SUPPORT_PHONE).render(template, language,
                                                                 {"name": "Nyambura Wanjiru", **SAMPLES[template]})
    if template in EMAIL_ONLY:
        assert rendered.sms is None
        assert "{" not in rendered.email_text and "{" not in rendered.subject and "<p>" in rendered.email_html
        return
    assert rendered.sms is not None and len(rendered.sms) <= 160, rendered.sms
    assert set(rendered.sms) <= GSM, set(rendered.sms) - GSM
    assert "{" not in rendered.sms and "{" not in rendered.subject and rendered.subject
    assert rendered.sms in rendered.email_text and "<p>" in rendered.email_html


def test_amounts_dates_and_times_are_formatted_for_kenya():
    texts = Texts()
    assert money(3500) == "KES 3,500" and money(1250000) == "KES 1,250,000"
    r = texts.render("booking_confirmed", "sw", {"name": "Otieno", "booking_id": 1, "start": date(2031, 3, 1),
                                                 "end": None, "amount": 3500, "receipt": None,
                                                 "paid_with": Phrase("paid_with", "mpesa")})
    assert r.sms.startswith("Nafasi #1 imethibitishwa: 1 Machi 2031 hadi bila tarehe ya mwisho.")
    assert "kumbukumbu ya M-PESA itafuata" in r.sms
    r = texts.render("hold_expiring", "en", {"name": "Otieno", "booking_id": 1, "amount": 3500,
                                             "expires": datetime(2031, 1, 1, 21, 30, tzinfo=UTC)})
    assert "held until 00:30" in r.sms  # Nairobi is UTC+3


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("how", ["changed", "reset"])
def test_a_password_change_fits_one_gsm_sms_whichever_way_it_was_changed(language, how):
    rendered = Texts(support_phone=LONGEST_SUPPORT_PHONE).render("password_changed", language, {
        "name": "Nyambura Wanjiru", "at": datetime(2031, 1, 5, 20, 59, tzinfo=UTC),
        "how": Phrase("password_how", how), "advice": Phrase("password_advice", how)})
    assert rendered.sms is not None and len(rendered.sms) <= 160 and set(rendered.sms) <= GSM, rendered.sms
    assert " 23:59 " in rendered.sms and "{" not in rendered.sms
    # A reset nobody asked for: the customer is told whom to call.
    assert (LONGEST_SUPPORT_PHONE in rendered.sms) == (how == "reset")


@pytest.mark.parametrize(("language", "help_line"), [("en", "Help: 0711 222 333"), ("sw", "Msaada: 0711 222 333")])
def test_the_support_number_is_in_every_email_and_where_the_customer_must_call(language, help_line):
    texts = Texts(support_phone="0711 222 333")
    for template, sample in SAMPLES.items():
        rendered = texts.render(template, language, {"name": "Otieno", **sample})
        assert rendered.email_text.rstrip().endswith("Jesh Storage\n" + help_line), (template, rendered.email_text)
        assert DEV_SUPPORT_PHONE not in rendered.email_text
    suspended = texts.render("access_suspended", language, {"name": "Otieno", **SAMPLES["access_suspended"]})
    assert suspended.sms is not None and suspended.sms.endswith(help_line)


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["before 14:35:", "ignore this email: your password stays the same."]),
    ("sw", ["kabla ya saa 14:35:", "puuza barua pepe hii: nenosiri lako halitabadilika."]),
])
def test_the_reset_email_has_the_link_its_nairobi_time_and_what_to_do_when_nobody_asked(language, words):
    rendered = Texts().render("password_reset", language, {"name": "Otieno", **SAMPLES["password_reset"]})
    link = str(SAMPLES["password_reset"]["link"])
    assert f"\n\n{link}\n\n" in rendered.email_text and f'<a href="{link}">' in rendered.email_html
    assert all(w in rendered.email_text for w in words), rendered.email_text
    assert rendered.sms is None and Texts().hidden_link(language).startswith("[")


def test_a_broken_template_file_stops_the_service_at_load(tmp_path):
    from notifications.texts import TEMPLATES_DIR

    for language in LANGUAGES:
        (tmp_path / f"{language}.toml").write_text((TEMPLATES_DIR / f"{language}.toml").read_text())
    broken = (tmp_path / "sw.toml").read_text().replace("{booking_id}", "{bookingid}", 1)
    (tmp_path / "sw.toml").write_text(broken)
    with pytest.raises(ValueError, match=r"sw\.toml"):
        Texts(tmp_path)
    # An email-only template without its email, or a language without the words for a hidden link.
    (tmp_path / "sw.toml").write_text((TEMPLATES_DIR / "sw.toml").read_text().replace("\nemail = ", "\nbarua = "))
    with pytest.raises(ValueError, match=r"sw\.toml, \[password_reset\]"):
        Texts(tmp_path)
    (tmp_path / "sw.toml").write_text((TEMPLATES_DIR / "sw.toml").read_text().replace("hidden_link =", "kiungo ="))
    with pytest.raises(ValueError, match=r"sw\.toml, \[format\].*hidden_link"):
        Texts(tmp_path)
    # A phrase with a placeholder phrases cannot have (only {support}), whether or not a sample uses it.
    (tmp_path / "sw.toml").write_text((TEMPLATES_DIR / "sw.toml").read_text().replace(
        'expired = "', 'expired = "{booking_id} '))
    with pytest.raises(ValueError, match=r"sw\.toml, \[cancel_reasons\] expired"):
        Texts(tmp_path)


@pytest.mark.parametrize(("method", "paid", "refunded"), [
    ("mpesa", "Paid KES 3,500, M-PESA ref SBX7Q.", "sent to your M-PESA, ref RFD9."),
    ("card", "Paid KES 3,500, Pesapal ref SBX7Q.", "sent to the card or account you paid with, ref RFD9."),
    ("cash", "Paid KES 3,500, cash ref SBX7Q.", "sent to you in cash, ref RFD9."),  # at the desk
    (None, "Paid KES 3,500, payment ref SBX7Q.", "sent to you, ref RFD9."),  # values held before method was known
])
def test_a_receipt_and_a_refund_name_the_way_the_customer_paid(method, paid, refunded):
    texts = Texts()
    how = {} if method is None else {"paid_with": Phrase("paid_with", method), "refund_to": Phrase("refund_to", method)}
    confirmed = texts.render("booking_confirmed", "en", {"name": "Otieno", "booking_id": 1, "start": date(2031, 3, 1),
                                                         "end": None, "amount": 3500, "receipt": "SBX7Q", **how})
    refund = texts.render("refund_paid", "en", {"name": "Otieno", "booking_id": 1, "amount": 1200, "receipt": "RFD9",
                                                **how})
    assert paid in confirmed.sms and refund.sms.endswith(refunded), (confirmed.sms, refund.sms)


def test_quiet_hours_across_midnight():
    quiet = QuietHours.parse("21:00-08:00")
    at = lambda h, m=0: datetime(2031, 1, 1, h, m, tzinfo=UTC)  # noqa: E731 - UTC hours
    assert quiet.contains(at(18))  # 21:00 Nairobi
    assert not quiet.contains(at(17, 59))
    assert quiet.contains(at(4, 59)) and not quiet.contains(at(5))  # 07:59 / 08:00 Nairobi
    assert quiet.next_allowed(at(19)) == datetime(2031, 1, 2, 5, 0, tzinfo=UTC)
    assert quiet.next_allowed(at(2)) == datetime(2031, 1, 1, 5, 0, tzinfo=UTC)
    assert quiet.next_allowed(at(12)) == at(12)
    assert not QuietHours.parse("").contains(at(20))
    assert QuietHours.parse("13:00-14:00").end == time(14, 0)


def test_production_refuses_missing_or_development_secrets():
    from notifications.settings import Settings

    with pytest.raises(ValueError, match="AT_API_KEY, AT_CALLBACK_TOKEN, AT_USERNAME, SMTP_URL"):
        Settings(environment="production")
    ready = {"at_username": "jesh", "at_api_key": "k" * 20, "at_callback_token": "t" * 20,
             "smtp_url": "smtp://mailer:pw@smtp.example.com:587"}
    with pytest.raises(ValueError, match="SUPPORT_PHONE is required in production"):
        Settings(environment="production", **ready)
    assert Settings(environment="production", support_phone=" +254  711 000 000 ", **ready).support_phone == (
        "+254 711 000 000")
    for bad in ["", "call us", "0711-000-000", "+254 711 000 000 0", "12345"]:
        with pytest.raises(ValueError, match="SUPPORT_PHONE must be a phone number"):
            Settings(support_phone=bad)
    with pytest.raises(ValueError, match="NOTIFY_QUIET_HOURS"):
        Settings(notify_quiet_hours="9pm-8am")


def test_every_template_can_be_listed_and_filtered_by() -> None:
    """The API's Template (the listing's field and filter) names exactly the templates there are: a message of a
    template it lacks could not be listed (the answer would not validate) nor asked for."""
    from typing import get_args

    from notifications.schemas import Template
    from notifications.texts import TEMPLATES

    assert sorted(get_args(Template)) == sorted(TEMPLATES)


@pytest.mark.parametrize(("language", "words"), [("en", "(in 3 days)"), ("sw", "(siku 3)")])
def test_a_reminder_held_before_it_had_its_when_still_says_the_days(language, words):
    held_values = {"name": "Otieno", "number": "INV-2031-00012", "balance": 25000, "due": date(2031, 1, 5), "days": 3}
    assert words in Texts().render("payment_reminder", language, held_values).sms


@pytest.mark.parametrize(("language", "words"), [("en", ", from the money you paid ahead. "),
                                                 ("sw", ", kwa pesa ulizolipa mapema. ")])
def test_an_invoice_the_credit_paid_has_no_ref_to_wait_for(language, words):
    values = {"name": "Otieno", "number": "INV-2031-00012", "amount": 3500, "balance": 0, "receipt": None,
              "paid_with": Phrase("paid_with", "other"), "paid_how": Phrase("paid_how", "credit")}
    sms = Texts().render("payment_received", language, values).sms
    assert words in sms and "ref" not in sms and "kumbukumbu" not in sms and "follow" not in sms, sms


@pytest.mark.parametrize(("language", "words"), [
    ("en", "INV-2031-00012 is now overdue, with a late fee of KES 500:"),
    ("sw", "INV-2031-00012 imechelewa sasa, na ada ya kuchelewa KES 500;"),
])
def test_an_invoice_late_on_its_due_date_is_now_overdue_not_0_days(language, words):
    values = {"name": "Otieno", "number": "INV-2031-00012", "balance": 3500, "late_fee": 500, "days": 0,
              "late": Phrase("days_late", "0"), "with_fee": Phrase("with_fee", "other")}
    assert words in Texts().render("invoice_overdue", language, values).sms  # BILLING_GRACE_DAYS=0


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("paid_for", ["0", "1", "2", "13"])
@pytest.mark.parametrize("owing", ["due", "paid", "ahead", "refund"])
def test_a_payments_receipt_fits_one_gsm_sms_whatever_it_paid(language, paid_for, owing):
    """RentPaymentApplied's receipt: no invoice, one, two or many; still due, nothing, paid ahead or going back; with
    the longest ref (a Pesapal code), an M-PESA limit's amount and invoice numbers as billing makes them."""
    values = {"name": "Nyambura Wanjiru", "amount": 250000, "receipt": PESAPAL_CODE,
              "number": "INV-0001234", "last": "INV-0001240", "more": int(paid_for) - 1, "balance": 250000,
              "credit": 250000, "refund": 250000, "paid_with": Phrase("paid_with", "card"),
              "paid_how": Phrase("paid_how", "card"), "paid_for": Phrase("paid_for", paid_for),
              "owing": Phrase("owing", owing)}
    sms = Texts(support_phone=LONGEST_SUPPORT_PHONE).render("payment_received", language, values).sms
    assert sms is not None and len(sms) <= 160 and set(sms) <= GSM and "{" not in sms, (len(sms or ""), sms)
