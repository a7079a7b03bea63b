"""PAYBILL_NUMBER: the messages that ask for money say how to pay from the phone's M-PESA menu (the Paybill, the
invoice's number as the account), in English and Kiswahili, still one SMS; unset, they stay as they were."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from notifications.settings import Settings
from notifications.texts import EMAIL_ONLY, LANGUAGES, SAMPLE_PAYBILL, SAMPLES, Texts

LONGEST_SUPPORT_PHONE = "+254 712 345 678"
# The sentence's own characters: plain GSM ones (test_texts checks the rest of every text).
PLAIN = set(string.ascii_letters + string.digits + " ,.-")
ASKING_FOR_MONEY = ("invoice_issued", "payment_reminder", "invoice_overdue", "access_suspended")
# Every message that names the Paybill: those, and a held booking's reminder (with its amount).
NAMING_THE_PAYBILL = (*ASKING_FOR_MONEY, "hold_expiring")
HOW_TO_PAY = {"en": "Pay by M-PESA Paybill 174379, account {}.", "sw": "Lipa kwa M-PESA Paybill 174379, akaunti {}."}


def invoice(user_id: int, **extra: object) -> dict[str, object]:
    return {"invoice_id": 7, "number": "INV-2031-00007", "booking_id": 70, "user_id": user_id, "total": 3500,
            "balance": 3500, "due_date": "2031-01-05", "period_start": "2031-01-05", "period_end": "2031-02-04",
            **extra}


def test_invoice_messages_name_the_paybill_and_the_invoice_as_account_in_each_language(start_notifications):
    n = start_notifications(paybill_number=" 174379 ")
    n.user(21, phone="254700000021", email="en@example.co.ke")
    n.user(22, phone="254700000022", email="sw@example.co.ke", language="sw")
    for user_id in (21, 22):
        n.publish("InvoiceIssued", invoice(user_id), source="billing")
        n.publish("InvoiceReminder", invoice(user_id, days_until_due=3), source="billing")
        n.publish("InvoiceOverdue", invoice(user_id, days_overdue=5, late_fee=500, balance=4000), source="billing")
        n.publish("RentPaymentApplied", {"payment_id": user_id, "booking_id": 70, "user_id": user_id, "amount": 4000,
                                         "method": "mpesa", "receipt": "SBX7Q", "balance": 0, "credit": 0, "refund": 0,
                                         "invoices": [{"invoice_id": 7, "number": "INV-2031-00007", "amount": 4000}]},
                  source="billing")
        n.publish("AccessSuspended", {"booking_id": 70, "user_id": user_id, "unit_id": 2, "balance": 4000},
                  source="billing")
    expected_en = {
        "invoice_issued": "Invoice INV-2031-00007: KES 3,500 due 5 Jan 2031. Pay by M-PESA Paybill 174379, account "
                          "INV-2031-00007. Thank you, Wanjiku.",
        "payment_reminder": "Reminder: invoice INV-2031-00007, KES 3,500 due 5 Jan 2031 (in 3 days). Pay by M-PESA "
                            "Paybill 174379, account INV-2031-00007.",
        "invoice_overdue": "Invoice INV-2031-00007 is 5 days overdue, with a late fee of KES 500: KES 4,000 now due. "
                           "Pay by M-PESA Paybill 174379, account INV-2031-00007.",
        # No invoice named: the booking's reference, whose money goes to the rental's open invoices.
        "access_suspended": "Access to your unit (booking #70) is suspended: KES 4,000 unpaid. Pay by M-PESA Paybill "
                            "174379, account JESH-70. Help: 0700 000 000",
    }
    for user_id, language in ((21, "en"), (22, "sw")):
        rows = n.wait_rows(2 * 6, user_id=user_id)  # the welcome and five messages, by SMS and email
        sms = {r["template"]: r["body"] for r in rows if r["channel"] == "sms"}
        emails = {r["template"]: r["body"] for r in rows if r["channel"] == "email"}
        for template in ASKING_FOR_MONEY:
            account = "JESH-70" if template == "access_suspended" else "INV-2031-00007"
            sentence = HOW_TO_PAY[language].format(account)
            assert sentence in sms[template], (language, sms[template])
            assert sentence in emails[template], (language, emails[template])  # the email carries the SMS's text
            assert len(sms[template]) <= 160
            if language == "en":
                assert sms[template] == expected_en[template]
        assert "Paybill" not in sms["payment_received"] and "Paybill" not in sms["welcome"]
    assert "Lipa kwa M-PESA kupitia akaunti yako ya Jesh" not in " ".join(r["body"] for r in n.rows(user_id=22))


@pytest.mark.parametrize("language", LANGUAGES)
def test_without_a_paybill_no_message_mentions_one(language):
    texts = Texts()  # PAYBILL_NUMBER empty, the default
    for template, sample in SAMPLES.items():
        rendered = texts.render(template, language, {"name": "Otieno", **sample})
        assert "Paybill" not in (rendered.sms or "") + rendered.email_text, (template, rendered.sms)
    issued = texts.render("invoice_issued", language, {"name": "Otieno", **SAMPLES["invoice_issued"]})
    assert issued.sms == {
        "en": "Invoice INV-2031-00012: KES 25,000 due 5 Jan 2031. Pay by M-PESA from your Jesh account. Thank you, "
              "Otieno.",
        "sw": "Ankara INV-2031-00012: KES 25,000 ilipwe kufikia 5 Jan 2031. Lipa kwa M-PESA kupitia akaunti yako ya "
              "Jesh. Asante, Otieno.",
    }[language]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", sorted(set(SAMPLES) - EMAIL_ONLY))
def test_with_the_longest_paybill_every_sms_still_fits_one_gsm_message(language, template):
    texts = Texts(support_phone=LONGEST_SUPPORT_PHONE, paybill=SAMPLE_PAYBILL)
    rendered = texts.render(template, language, {"name": "Nyambura Wanjiru", **SAMPLES[template]})
    assert rendered.sms is not None and len(rendered.sms) <= 160, rendered.sms
    assert (f"Paybill {SAMPLE_PAYBILL}," in rendered.sms) == (template in NAMING_THE_PAYBILL), rendered.sms
    if template in NAMING_THE_PAYBILL:
        by_booking = template in ("access_suspended", "hold_expiring")
        account = "JESH-12345" if by_booking else str(SAMPLES[template]["number"])
        assert set(texts.pay_by_paybill(language, SAMPLE_PAYBILL, account)) <= PLAIN
        assert rendered.sms.count(account) == (1 if by_booking else 2), rendered.sms
        assert rendered.sms in rendered.email_text


def test_a_paybill_number_that_is_not_5_to_7_digits_stops_the_service_at_start(monkeypatch):
    assert Settings().paybill_number == ""
    assert Settings(paybill_number=" 174379 ").paybill_number == "174379"
    assert Settings(paybill_number="12345").paybill_number == "12345"
    assert Settings(paybill_number="1234567").paybill_number == "1234567"
    for bad in ["1234", "12345678", "17437A", "174 379", "+174379", "174379\n5"]:
        with pytest.raises(ValidationError, match="PAYBILL_NUMBER must be the M-PESA Paybill business number"):
            Settings(paybill_number=bad)
    monkeypatch.setenv("PAYBILL_NUMBER", "paybill")  # as the service reads it at start
    with pytest.raises(ValidationError, match="PAYBILL_NUMBER must be"):
        Settings()


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Otieno, booking #42 is held until 00:30. Pay KES 3,500 by M-PESA Paybill 174379, account JESH-42, "
           "before then."),
    ("sw", "Otieno, nafasi #42 imeshikiliwa hadi saa 00:30. Lipa KES 3,500 kwa M-PESA Paybill 174379, akaunti "
           "JESH-42, kabla ya hapo."),
])
def test_a_held_booking_s_reminder_gives_the_paybill_the_booking_s_account_and_its_exact_amount(language, expected):
    values = {"name": "Otieno Ouma", "booking_id": 42, "amount": 3500,
              "expires": datetime(2031, 1, 4, 21, 30, tzinfo=UTC)}
    assert Texts(paybill="174379").render("hold_expiring", language, values).sms == expected
    without = Texts().render("hold_expiring", language, values).sms
    assert "Paybill" not in without and "KES 3,500" in without
