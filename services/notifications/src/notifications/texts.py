"""The message texts: one TOML file per language (templates/en.toml, templates/sw.toml), rendered with values.

The messages that ask for money say how to pay ({pay}): their own "pay" sentence, or, when there is a Paybill
(PAYBILL_NUMBER), their own "pay_paybill" sentence (hold_expiring: with the amount) or else [format] pay_by_paybill,
with the Paybill and the account to type (paybill_account()).

Values are formatted here, the same way in every message: amounts "KES 3,500", dates "5 Jan 2031",
times "14:05" in Nairobi time. Every template is rendered once with sample values at load, so a file with
a mistake (an unknown {placeholder}, a missing message) stops the service at start-up, not at 3 a.m.
"""

from __future__ import annotations

import html
import re
import string
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from jeshkit.clock import NAIROBI

LANGUAGES = ("en", "sw")
DEFAULT_LANGUAGE = "en"
TEMPLATES_DIR = Path(__file__).with_name("templates")
# The number customers call (SUPPORT_PHONE): {support} in every template and phrase. This one is development's
# placeholder, refused in production (settings.py).
DEV_SUPPORT_PHONE = "0700 000 000"
# The longest Paybill number (PAYBILL_NUMBER has 5 to 7 digits), for the load-time check of [format] pay_by_paybill.
SAMPLE_PAYBILL = "1234567"
# East Africa Time has no daylight saving: a fixed offset, without depending on the image's tzdata.


class Phrase(NamedTuple):
    """A value that is a phrase from a table of phrases ([payment_reasons], [cancel_reasons], [password_how], ...):
    rendered in the message's language, whenever that is known (a held message's language is learnt later)."""

    table: str
    key: str


# The longest receipts (Pesapal's confirmation codes run long: the simulator's have 22 digits), with the longest
# phrases: the samples check that every SMS still fits one message.
PESAPAL_CODE = "8831317931913589889898"
# The placeholders each template may use (besides {name} and {support}), with sample values for the load-time check.
SAMPLES: dict[str, dict[str, Any]] = {
    "welcome": {},
    "booking_confirmed": {"booking_id": 12345, "start": date(2031, 1, 5), "end": date(2031, 2, 5),
                          "amount": 25000, "receipt": PESAPAL_CODE, "paid_with": Phrase("paid_with", "card")},
    "payment_failed": {"booking_id": 12345, "amount": 25000, "reason": "your M-PESA balance was too low"},
    "hold_expiring": {"booking_id": 12345, "amount": 25000, "expires": datetime(2031, 1, 5, 11, 5, tzinfo=UTC)},
    "booking_cancelled": {"booking_id": 12345, "start": date(2031, 1, 5), "reason": "you cancelled it"},
    "invoice_issued": {"number": "INV-2031-00012", "total": 25000, "balance": 25000, "due": date(2031, 1, 5)},
    "payment_reminder": {"number": "INV-2031-00012", "balance": 25000, "due": date(2031, 1, 5), "days": 3,
                         "when": Phrase("due_in", "3")},
    "invoice_overdue": {"number": "INV-2031-00012", "balance": 25500, "late_fee": 500, "days": 5,
                        "late": Phrase("days_late", "5"), "with_fee": Phrase("with_fee", "other")},
    # A payment billing applied to a rental (RentPaymentApplied), or an invoice the rental's credit paid (InvoicePaid):
    # what it paid ({paid_for}: the invoices, by {number} the oldest, {last}, and {more} how many after the oldest) and
    # what the rental owes after it ({owing}: {balance} due, {credit} paid ahead, or {refund} going back).
    "payment_received": {"number": "INV-2031-00012", "last": "INV-2031-00013", "more": 1,
                         "amount": 25000, "balance": 0, "credit": 2500, "refund": 0, "receipt": PESAPAL_CODE,
                         "paid_with": Phrase("paid_with", "card"), "paid_how": Phrase("paid_how", "card"),
                         "paid_for": Phrase("paid_for", "2"), "owing": Phrase("owing", "ahead")},
    "access_suspended": {"booking_id": 12345, "balance": 25500},
    "access_restored": {"booking_id": 12345},
    "refund_paid": {"booking_id": 12345, "amount": 25000, "receipt": PESAPAL_CODE,
                    "refund_to": Phrase("refund_to", "card")},
    "payment_unmatched": {"amount": 250000, "receipt": "TC24H7XK9Z", "account": "JESH-STORAGE",
                          "why": Phrase("unmatched_why", "unknown_account")},
    "payment_wrong_amount": {"booking_id": 12345, "amount": 250000, "receipt": "TC24H7XK9Z", "price": 260000},
    "transport_scheduled": {"request_id": 1234},
    "transport_completed": {"request_id": 1234},
    "password_reset": {"link": "https://storage.example.com/reset-password#token=c2FtcGxlLXRva2Vu",
                       "expires": datetime(2031, 1, 5, 11, 35, tzinfo=UTC)},
    "password_changed": {"at": datetime(2031, 1, 5, 11, 5, tzinfo=UTC), "how": Phrase("password_how", "changed"),
                         "advice": Phrase("password_advice", "changed")},
    "account_closed": {"at": datetime(2031, 1, 5, 11, 5, tzinfo=UTC)},
    "account_reopened": {"at": datetime(2031, 1, 5, 11, 5, tzinfo=UTC)},
    "role_changed": {"at": datetime(2031, 1, 5, 11, 5, tzinfo=UTC), "role": Phrase("roles", "admin")},
    "erasure_requested": {"on": date(2031, 8, 12)},  # the longest month in Swahili (Agosti)
    "account_invite": {"link": "https://storage.example.com/reset-password#token=c2FtcGxlLXRva2Vu",
                       "expires": datetime(2031, 1, 12, 11, 5, tzinfo=UTC), "until": date(2031, 1, 12)},
}
TEMPLATES = tuple(SAMPLES)
# Values a template may use that older stored values lack (a message held before they were added): phrases that
# say nothing wrong when the fact is not known.
DEFAULTS: dict[str, Any] = {"paid_with": Phrase("paid_with", "other"), "refund_to": Phrase("refund_to", "other"),
                            "when": Phrase("due_in", "other"), "late": Phrase("days_late", "other"),
                            "with_fee": Phrase("with_fee", "other"), "paid_how": Phrase("paid_how", "other"),
                            # a receipt held before it said what it paid: its one invoice, and "Balance now …"
                            "paid_for": Phrase("paid_for", "1"), "owing": Phrase("owing", "paid")}
# The message's values a phrase may give besides {support} ([due_in] "in {days} days"), with a sample for the load-time
# check of the tables of phrases.
PHRASE_VALUES: dict[str, str] = {"days": "3", "late_fee": "KES 500", "receipt": PESAPAL_CODE,
                                  "number": "INV-2031-00012", "last": "INV-2031-00013", "more": "12",
                                  "balance": "KES 250,000", "credit": "KES 250,000",
                                  "refund": "KES 250,000"}
# Sent by email only, whatever the customer chose (a secret link never goes by SMS): these templates have no SMS
# text, and their "email" is the whole email.
EMAIL_ONLY = frozenset({"password_reset", "account_invite"})
SAMPLE_NAME = "Wanjiku"
# Values that are money, whatever the template.
MONEY = frozenset({"amount", "total", "balance", "late_fee", "price", "credit", "refund"})


@dataclass(frozen=True)
class Rendered:
    subject: str
    sms: str | None  # None: email only (EMAIL_ONLY)
    email_text: str
    email_html: str


class Texts:
    """Every template in every language, checked at load."""

    def __init__(self, folder: Path = TEMPLATES_DIR, *, support_phone: str = DEV_SUPPORT_PHONE,
                 paybill: str = "") -> None:
        self.support_phone = support_phone
        self.paybill = paybill  # PAYBILL_NUMBER; empty: the messages name no Paybill
        self._files: dict[str, dict[str, Any]] = {}
        for language in LANGUAGES:
            path = folder / f"{language}.toml"
            try:
                self._files[language] = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ValueError(f"cannot read the message texts {path}: {exc}") from exc
        for language in LANGUAGES:
            for template, sample in SAMPLES.items():
                try:
                    for paybill in ("", SAMPLE_PAYBILL):  # each message as it reads with and without a Paybill
                        self._render(template, language, {"name": "Wanjiku Kamau", **sample}, paybill)
                except (KeyError, IndexError, ValueError, TypeError) as exc:
                    raise ValueError(f"templates/{language}.toml, [{template}]: {exc!r}") from exc
            for table, phrases in self._files[language].items():  # the tables of phrases: {support} only
                if isinstance(phrases, dict) and table != "format" and table not in SAMPLES:
                    for key in phrases:
                        try:
                            self.words(language, table, key, values=PHRASE_VALUES)
                        except (KeyError, IndexError, ValueError) as exc:
                            raise ValueError(f"templates/{language}.toml, [{table}] {key}: {exc!r}") from exc
            try:
                self.hidden_link(language)
                self.pay_by_paybill(language, SAMPLE_PAYBILL, "INV-2031-00012")  # checked even with no Paybill set
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"templates/{language}.toml, [format]: {exc!r}") from exc

    def words(self, language: str, table: str, key: str, *, default: str = "other",
              values: dict[str, str] | None = None) -> str:
        """A phrase from a table of phrases ([payment_reasons], [cancel_reasons]), or its "other" entry; a phrase
        may give the support number ({support}) and the message's values of PHRASE_VALUES ({days})."""
        phrases = self._files[_language(language)][table]
        phrase = str(phrases.get(key, phrases.get(default, key)))
        return _fill(phrase, {**(values or {}), "support": self.support_phone})

    def hidden_link(self, language: str) -> str:
        """What the listing shows instead of a secret link (links.py)."""
        return str(self._files[_language(language)]["format"]["hidden_link"])

    def pay_by_paybill(self, language: str, paybill: str, account: str) -> str:
        """How to pay from the phone's M-PESA menu: the Paybill and the account number to type."""
        return _fill(self._files[_language(language)]["format"]["pay_by_paybill"],
                     {"paybill": paybill, "account": account})

    def render(self, template: str, language: str, values: dict[str, Any]) -> Rendered:
        """The subject, SMS text and email (text and HTML) of one template, with values formatted."""
        return self._render(template, language, values, self.paybill)

    def _render(self, template: str, language: str, values: dict[str, Any], paybill: str) -> Rendered:
        file = self._files[_language(language)]
        fmt = file["format"]
        entry = file[template]
        given = {**DEFAULTS, **values}
        shown = {key: self._format(key, value, fmt) for key, value in given.items() if not isinstance(value, Phrase)}
        # A phrase of DEFAULTS is rendered for every message, used or not: a value the message lacks is empty.
        in_phrases = {key: shown.get(key, "") for key in PHRASE_VALUES}
        shown.update({key: self.words(language, *value, values=in_phrases)
                      for key, value in given.items() if isinstance(value, Phrase)})
        shown["name"] = first_name(values.get("name"))
        shown["support"] = self.support_phone
        if "pay" in entry:  # a message asking for money: how to pay (its own Paybill sentence if it has one)
            if paybill:
                shown.update(paybill=paybill, account=paybill_account(values))
                shown["pay"] = _fill(entry.get("pay_paybill") or fmt["pay_by_paybill"], shown)
            else:
                shown["pay"] = _fill(entry["pay"], shown)
        sms = None if template in EMAIL_ONLY else _fill(entry["sms"], shown)
        subject = _fill(entry["subject"], shown)
        if "email" in entry or sms is None:
            email_text = _fill(entry["email"], shown)
        else:
            email_text = "\n\n".join((_fill(fmt["greeting"], shown), sms, _fill(fmt["signoff"], shown)))
        return Rendered(subject=subject, sms=sms, email_text=email_text, email_html=as_html(email_text))

    @staticmethod
    def _format(key: str, value: Any, fmt: dict[str, Any]) -> str:
        if value is None:
            return str(fmt["no_receipt"] if key == "receipt" else fmt["open_ended"] if key == "end" else "")
        if key in MONEY:
            return money(int(value))
        if isinstance(value, datetime):
            return value.astimezone(NAIROBI).strftime("%H:%M")
        if isinstance(value, date):
            return f"{value.day} {fmt['months'][value.month - 1]} {value.year}"
        return str(value)


def paybill_account(values: dict[str, Any]) -> str:
    """The account number a customer types to pay to the Paybill: the invoice's number, else the booking's reference
    (JESH-<booking id>, as the STK prompt shows it), whose money goes to that rental's open invoices, oldest first."""
    return str(values["number"]) if "number" in values else f"JESH-{values['booking_id']}"


def money(amount: int) -> str:
    return f"KES {amount:,}"


def first_name(name: Any) -> str:
    words = str(name or "").split()
    return words[0] if words else ""


def _language(language: str) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def _fill(text: str, values: dict[str, str]) -> str:
    # Only plain {placeholders}: no attribute access or format specs from a file anyone may edit.
    for _, field, spec, conversion in string.Formatter().parse(text):
        if field is not None and (spec or conversion or not field.isidentifier()):
            raise ValueError(f"unsupported placeholder {{{field}}}")
    return text.format_map(values)


def as_html(text: str) -> str:
    paragraphs = "".join("<p>" + _paragraph(block) + "</p>" for block in text.split("\n\n") if block.strip())
    return (
        '<!doctype html><html><body style="font-family: Arial, sans-serif; font-size: 15px; color: #222;">'
        f"{paragraphs}</body></html>"
    )


_URL = re.compile(r"https?://[^\s<>\"']+")


def _paragraph(block: str) -> str:
    """A block of text as HTML, its links clickable."""
    parts, start = [], 0
    for url in _URL.finditer(block):
        link = html.escape(url[0])
        parts += [html.escape(block[start:url.start()]), f'<a href="{link}">{link}</a>']
        start = url.end()
    parts.append(html.escape(block[start:]))
    return "".join(parts).replace("\n", "<br>")
