"""Use cases of the notifications service: what events teach it and which messages they make (the API's actions are
in actions.py).

The reactions to events run inside the consumer's transaction (they never commit) and only write rows:
a message is queued here and sent later by the sender (delivery.py), never inside this transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import (
    Row,
    Select,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from notifications import held
from notifications.links import LOCAL_GATEWAY
from notifications.models import BookingFacts, Recipient, ScheduledNotice
from notifications.quiet import QuietHours
from notifications.texts import Phrase, Texts

log = logging.getLogger("notifications.service")

# Reminders wait out quiet hours and respect the user's opt-outs; every other message (receipts, security,
# what the customer just did) always goes, at once.
REMINDERS = frozenset({"hold_expiring", "invoice_issued", "payment_reminder", "invoice_overdue"})
# Messages about something that ends at their `expires`: one still held by then is not sent (contacts.py).
EXPIRING = frozenset({"hold_expiring", "password_reset", "account_invite"})


@dataclass(frozen=True)
class Policy:
    """What the reactions need besides the event: the texts and the timing rules (from Settings)."""

    texts: Texts
    quiet_hours: QuietHours
    hold_reminder: timedelta
    receipt_wait: timedelta
    # The portal's base URL, for the links to it (PORTAL_URL, else PUBLIC_BASE_URL).
    portal_url: str = LOCAL_GATEWAY


# --- what the events teach ------------------------------------------------------------------------
def remember_user(*, session: Session, user_id: int, email: str | None, phone: str | None, name: str | None,
                  as_of: datetime) -> None:
    """Keep a customer's contact details as of `as_of` (the event's occurred_at, or when auth was asked): the newest
    fact wins, not the last applied (a redelivered or retried event may come after a newer one, and would put the
    old phone or email back); preferences are left as they are. An erased customer's details are never written
    again (a late UserRegistered or UserUpdated, auth's answer to contacts.py)."""
    session.execute(_REMEMBER_USER, {"user_id": user_id, "email": email, "phone": phone or None, "name": name,
                                     "as_of": as_of})


# The reactions to events run once per event: their statements are Core SQL built once, on the tables, with a
# bound parameter for every value (no ORM statement to build, no cache key to compute per event).
_FACTS = cast(Table, BookingFacts.__table__)
_RECIPIENTS = cast(Table, Recipient.__table__)
_NOTICES = cast(Table, ScheduledNotice.__table__)


def _remember_user_statement() -> Any:
    statement = insert(_RECIPIENTS).values(
        user_id=bindparam("user_id"), email=bindparam("email"), phone=bindparam("phone"), name=bindparam("name"),
        details_as_of=bindparam("as_of"),
    )
    new, kept = statement.excluded, _RECIPIENTS.c
    return statement.on_conflict_do_update(
        index_elements=[kept.user_id],
        set_={"email": new.email, "phone": new.phone, "name": new.name, "details_as_of": new.details_as_of,
              "updated_at": func.now()},
        where=and_(kept.erased_at.is_(None),
                   or_(kept.details_as_of.is_(None), kept.details_as_of <= new.details_as_of)),
    )


_REMEMBER_USER = _remember_user_statement()


class Contact(NamedTuple):
    """How to reach a customer, and what they want."""

    email: str | None
    phone: str | None
    name: str | None
    language: str
    sms_enabled: bool
    email_enabled: bool
    erased_at: datetime | None  # the customer's personal data was erased: nothing goes to them any more


_CONTACT = [_RECIPIENTS.c[key] for key in Contact._fields]
_RECIPIENT = select(*_CONTACT).where(_RECIPIENTS.c.user_id == bindparam("user_id"))
# The messages of one event, one row per channel, in one statement; a redelivered event or another replica queues
# nothing new (and gets no id back).
_QUEUE_MESSAGES = text(
    'INSERT INTO notifications (source_key, user_id, channel, "to", template, language, subject, body, params, '
    "next_attempt_at, status) "
    "SELECT :source_key, :user_id, m.channel, m.address, :template, :language, m.subject, m.body, "
    "CAST(:params AS jsonb), :due, 'queued' "
    "FROM unnest(CAST(:channels AS text[]), CAST(:addresses AS text[]), CAST(:subjects AS text[]), "
    "CAST(:bodies AS text[])) AS m (channel, address, subject, body) "
    "ON CONFLICT ON CONSTRAINT uq_notifications_source_channel DO NOTHING RETURNING id"
)
_SCHEDULE = (
    insert(_NOTICES)
    .values({key: bindparam(key) for key in ("kind", "booking_id", "source_key", "due_at")})
    .on_conflict_do_nothing(constraint="uq_scheduled_notices_kind_booking")
)
# A booking's notices of some kinds, in one statement.
_UNSCHEDULE = delete(_NOTICES).where(
    _NOTICES.c.booking_id == bindparam("booking_id"), _NOTICES.c.kind == any_(bindparam("kinds", type_=ARRAY(Text)))
)


class ConfirmationFacts(Protocol):
    """What the confirmation message needs of a booking: a row of booking_facts (or its BookingFacts)."""

    @property
    def booking_id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def start_date(self) -> date | None: ...
    @property
    def end_date(self) -> date | None: ...
    @property
    def total_price(self) -> int | None: ...
    @property
    def amount_paid(self) -> int | None: ...
    @property
    def receipt(self) -> str | None: ...
    @property
    def paid_with(self) -> str | None: ...


def _facts_upsert(columns: tuple[str, ...]) -> ReturningInsert[Any]:
    """INSERT … ON CONFLICT DO UPDATE of these columns of a booking's facts, RETURNING the row (one statement
    per set of columns the reactions give, built on first use)."""
    statement = insert(_FACTS).values({key: bindparam(key) for key in ("booking_id", "user_id", *columns)})
    return statement.on_conflict_do_update(
        index_elements=[_FACTS.c.booking_id],
        set_={**{key: statement.excluded[key] for key in columns}, "updated_at": bindparam("changed_at")},
    ).returning(*_FACTS.c)


@cache
def _facts_statement(columns: tuple[str, ...]) -> Select[Any]:
    """The facts' upsert with the customer's contact (the last columns, all null when unknown): the messages the
    reaction may queue need no statement of their own to find them (one statement per set of columns the reactions
    give, built on first use)."""
    facts = _facts_upsert(columns).cte("facts")
    return select(facts, _RECIPIENTS.c.user_id.label("contact_user_id"), *_CONTACT).select_from(
        facts.outerjoin(_RECIPIENTS, _RECIPIENTS.c.user_id == facts.c.user_id)
    )


def _created_statement() -> Any:
    """BookingCreated's facts upsert and, unless the booking is settled already, its hold reminder."""
    facts = _facts_upsert(_CREATED_COLUMNS).cte("facts")
    return insert(_NOTICES).from_select(
        ["kind", "booking_id", "source_key", "due_at"],
        select(bindparam("kind", type_=Text), facts.c.booking_id, bindparam("source_key", type_=Text),
               bindparam("due_at", type_=_NOTICES.c.due_at.type))
        .where(~facts.c.confirmed, ~facts.c.cancelled),
    ).on_conflict_do_nothing(constraint="uq_scheduled_notices_kind_booking")


_CREATED_COLUMNS = ("unit_id", "start_date", "end_date", "total_price", "hold_expires_at")
_CREATED = _created_statement()


def _booking_facts(session: Session, booking_id: int, user_id: int, **values: Any) -> tuple[Row[Any], Contact | None]:
    """Upsert what is known of a booking and return the row, locked until commit (events about one booking
    handled by two replicas at once take turns here: the upsert takes the row lock, even when it inserts), with
    the customer's contact (None when unknown)."""
    params = {"booking_id": booking_id, "user_id": user_id, "changed_at": datetime.now(UTC), **values}
    row = session.execute(_facts_statement(tuple(values)), params).one()
    known = row.contact_user_id is not None
    return row, Contact(*row[-len(Contact._fields):]) if known else None


def booking_created(*, session: Session, policy: Policy, source_key: str, booking_id: int, user_id: int,
                    unit_id: int, start_date: date, end_date: date | None, total_price: int,
                    hold_expires_at: datetime) -> None:
    """Remember the booking and plan the "hold about to expire" reminder (unless it is already settled): one
    statement, the facts' upsert (which locks the row) feeding the notice's insert."""
    now = datetime.now(UTC)
    session.execute(_CREATED, {
        "booking_id": booking_id, "user_id": user_id, "changed_at": now, "unit_id": unit_id,
        "start_date": start_date, "end_date": end_date, "total_price": total_price,
        "hold_expires_at": hold_expires_at, "kind": "hold_expiring", "source_key": source_key,
        "due_at": max(now, hold_expires_at - policy.hold_reminder),
    })


def payment_succeeded(*, session: Session, policy: Policy, booking_id: int, user_id: int, amount: int,
                      receipt: str | None, method: str) -> None:
    """A booking's payment: its receipt (and how it was paid) goes into the confirmation, whichever of the two
    events comes first."""
    facts, contact = _booking_facts(session, booking_id, user_id, paid=True, amount_paid=amount, receipt=receipt,
                                    paid_with=method)
    if facts.confirmed and not facts.cancelled:
        _unschedule(session, booking_id, "receipt_wait")
        _announce(session=session, policy=policy, facts=facts, contact=contact)


def booking_confirmed(*, session: Session, policy: Policy, booking_id: int, user_id: int, unit_id: int,
                      start_date: date, end_date: date | None, total_price: int) -> None:
    """The booking is confirmed: no hold reminder any more; announce it with the receipt (or wait a little)."""
    facts, contact = _booking_facts(session, booking_id, user_id, unit_id=unit_id, start_date=start_date,
                                    end_date=end_date, total_price=total_price, confirmed=True)
    if facts.paid:
        _unschedule(session, booking_id, "hold_expiring", "receipt_wait")
        _announce(session=session, policy=policy, facts=facts, contact=contact)
    else:
        _unschedule(session, booking_id, "hold_expiring")
        _schedule(session, "receipt_wait", booking_id, f"booking:{booking_id}:confirmed",
                  datetime.now(UTC) + policy.receipt_wait)


def announce_confirmed(*, session: Session, policy: Policy, facts: ConfirmationFacts) -> None:
    _unschedule(session, facts.booking_id, "receipt_wait")
    _announce(session=session, policy=policy, facts=facts, contact=_contact(session, facts.user_id))


def _announce(*, session: Session, policy: Policy, facts: ConfirmationFacts, contact: Contact | None) -> None:
    queue(
        session=session, policy=policy, user_id=facts.user_id, contact=contact, template="booking_confirmed",
        source_key=f"booking:{facts.booking_id}:confirmed",
        values={"booking_id": facts.booking_id, "start": facts.start_date, "end": facts.end_date,
                "amount": facts.amount_paid if facts.amount_paid is not None else facts.total_price or 0,
                "receipt": facts.receipt, "paid_with": Phrase("paid_with", facts.paid_with or "other")},
    )


def booking_cancelled(*, session: Session, policy: Policy, source_key: str, booking_id: int, user_id: int,
                      start_date: date, reason: str) -> None:
    _, contact = _booking_facts(session, booking_id, user_id, start_date=start_date, cancelled=True)
    _unschedule(session, booking_id, "hold_expiring", "receipt_wait")
    queue(
        session=session, policy=policy, user_id=user_id, contact=contact, template="booking_cancelled",
        source_key=source_key,
        values={"booking_id": booking_id, "start": start_date, "reason": Phrase("cancel_reasons", reason)},
    )


def payment_failed(*, session: Session, policy: Policy, source_key: str, booking_id: int, user_id: int,
                   amount: int, result_code: int | None, method: str = "mpesa") -> None:
    # Daraja's result codes say why an M-PESA push failed; a card (Pesapal) payment's codes are Pesapal's own.
    key = "card" if method == "card" else str(result_code) if result_code is not None else "other"
    reason = Phrase("payment_reasons", key)
    queue(session=session, policy=policy, user_id=user_id, contact=_contact(session, user_id),
          template="payment_failed", source_key=source_key,
          values={"booking_id": booking_id, "amount": amount, "reason": reason})


# --- messages ------------------------------------------------------------------------------------------
def notify(*, session: Session, policy: Policy, user_id: int, template: str, source_key: str,
           values: dict[str, Any], now: datetime | None = None) -> int:
    """Queue `template` for the user on each channel they can be reached on; returns how many were queued.

    The key (source_key, channel) is unique: a redelivered event or another replica queues nothing new.
    """
    return queue(session=session, policy=policy, user_id=user_id, contact=_contact(session, user_id),
                  template=template, source_key=source_key, values=values, now=now)


def customer_with_phone(session: Session, phone: str | None) -> int | None:
    """The customer whose phone this is (the newest to name it, if several did), not erased; None if nobody."""
    if not phone:
        return None
    found = session.scalars(
        select(Recipient.user_id).where(Recipient.phone == phone, Recipient.erased_at.is_(None))
        .order_by(Recipient.updated_at.desc()).limit(1)
    ).first()
    return int(found) if found is not None else None


def _contact(session: Session, user_id: int) -> Contact | None:
    row = session.execute(_RECIPIENT, {"user_id": user_id}).first()
    return Contact(*row) if row is not None else None


def known_contact(session: Session, user_id: int) -> Contact | None:
    """The user's contact, if their details are known (a row made by the preferences alone has none), or if they
    were erased (nothing to ask auth: nothing goes to them)."""
    contact = _contact(session, user_id)
    known = contact is not None and (contact.email is not None or contact.erased_at is not None)
    return contact if known else None


def queue(*, session: Session, policy: Policy, user_id: int, contact: Contact | None, template: str,
          source_key: str, values: dict[str, Any], now: datetime | None = None) -> int:
    """notify() with the user's contact already found. Unknown (None, or a row with no details: every account has
    an email): the message is held until auth tells who they are (held.py, contacts.py), never dropped. An erased
    customer: nothing is queued or held."""
    now = now or datetime.now(UTC)
    if contact is not None and contact.erased_at is not None:
        log.info("user %s was erased: %s not sent", user_id, template,
                 extra={"user_id": user_id, "template": template})
        return 0
    if contact is None or contact.email is None:
        held.hold(session, user_id=user_id, template=template, source_key=source_key, values=values)
        return 0
    reminder = template in REMINDERS
    rendered = policy.texts.render(template, contact.language, {"name": contact.name, **values})
    due = policy.quiet_hours.next_allowed(now) if reminder else now
    channels, addresses, subjects, bodies = [], [], [], []
    for channel, address, wanted, subject, body in (
        ("sms", contact.phone, contact.sms_enabled, None, rendered.sms),
        ("email", contact.email, contact.email_enabled, rendered.subject, rendered.email_text),
    ):
        if address and body is not None and (wanted or not reminder):  # no SMS text: email only
            channels.append(channel)
            addresses.append(address)
            subjects.append(subject)
            bodies.append(body)
    if not channels:
        return 0
    result = session.execute(_QUEUE_MESSAGES, {
        "source_key": source_key, "user_id": user_id, "template": template, "language": contact.language,
        "due": due, "channels": channels, "addresses": addresses, "subjects": subjects, "bodies": bodies,
        # A reminder may wait (quiet hours, retries): its values, to render it again in a language chosen meanwhile.
        "params": json.dumps(held.encode(values)) if reminder else None,
    })
    return len(result.all())


def _schedule(session: Session, kind: str, booking_id: int, source_key: str, due_at: datetime) -> None:
    session.execute(_SCHEDULE, {"kind": kind, "booking_id": booking_id, "source_key": source_key, "due_at": due_at})


def _unschedule(session: Session, booking_id: int, *kinds: str) -> None:
    session.execute(_UNSCHEDULE, {"booking_id": booking_id, "kinds": list(kinds)})
