"""Messages still waiting to go (a reminder waits for the quiet hours to end: billing's day starts at 06:00, inside
them, so its reminders go at 08:00), and what a change meanwhile does to them: rendered again in the language the
customer chose (render_again), sent to the phone or email they now have (readdress), asking for what is left once
a payment paid part of their invoice (paid_towards), withdrawn once it is paid (withdraw_invoice_reminders) or
voided by the rental's end (withdraw_voided_reminders). Only messages never tried, or waiting for a retry after a
failed attempt (the SMS gateway down at 08:00, the customer paid at 08:05: the reminder must not go at 08:10): one on
its way cannot be recalled or changed under the sender (delivery.py leases it, `sending_until`, just before the send),
and one claimed for its first attempt goes within the second, as it would have a moment before. All in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, TextClause, select, text
from sqlalchemy.orm import Session

from notifications import held
from notifications.models import Notification, Recipient
from notifications.texts import Texts

# The reminders about one invoice (their values name it, `number`, and its rental, `booking_id`): once it is paid, or
# the rental cancelled (its invoices voided), those still waiting go no more.
INVOICE_REMINDERS = ("invoice_issued", "payment_reminder", "invoice_overdue")
# Deferred (to the quiet hours' end): a message due now goes within the second, as it would have a moment before;
# only one that would still go a while later is withdrawn or changed for a payment. Not now(): the consumer may apply
# several events in one transaction, whose start now() is, and a message queued by an earlier one is due after it.
DEFERRED_AFTER = "statement_timestamp() + interval '1 minute'"
# What may still change (columns of notifications, unqualified: for the ORM's selects and the statements below alike).
WAITING = ("status = 'queued' AND (attempts = 0 OR last_error IS NOT NULL) "
           "AND (sending_until IS NULL OR sending_until <= now())")
# What a payment withdraws or changes among those: one deferred, or one that should have gone already and waits for
# its retry (its time may be near: it asks for money no longer owed all the same).
LATER = f"(last_error IS NOT NULL OR next_attempt_at > {DEFERRED_AFTER})"


def render_again(session: Session, recipient: Recipient, texts: Texts) -> None:
    """A reminder waiting (for the quiet hours to end) in another language than the customer's, rendered again in
    theirs: they asked for Swahili at 22:00, the 08:00 reminder is in Swahili. Rows the sender holds are skipped,
    never waited for."""
    for message in _waiting(session, recipient.user_id, Notification.params.is_not(None),
                            Notification.language != recipient.language):
        _render(message, recipient, texts)




def paid_towards(session: Session, *, user_id: int, paid: list[tuple[str, int]], texts: Texts) -> None:
    """A payment put these amounts on these invoices (by number): their reminders still waiting ask for what is left
    (a customer who paid KES 2,000 of 5,000 at 06:30 read "KES 5,000 due today" at 08:00), or go no more when
    nothing is (InvoicePaid withdraws them too, whichever comes first)."""
    recipient = session.get(Recipient, user_id)
    for number, amount in paid:
        for message in _waiting(session, user_id, Notification.template.in_(INVOICE_REMINDERS),
                                Notification.params["number"].astext == number, text(LATER)):
            assert message.params is not None
            left = int(str(message.params.get("balance", 0))) - amount
            if left <= 0 or recipient is None:
                _withdraw_one(session, message, PAID)
                continue
            message.params = {**message.params, "balance": left}
            _render(message, recipient, texts)


def _waiting(session: Session, user_id: int, *where: ColumnElement[bool] | TextClause) -> Sequence[Notification]:
    """The user's messages still waiting (WAITING; the sender gives a deferred reminder its attempt back), locked: one
    on its way may not change under the sender; rows the sender holds are skipped, never waited for."""
    return session.scalars(
        select(Notification).where(Notification.user_id == user_id, text(WAITING), *where)
        .with_for_update(skip_locked=True)
    ).all()


def _withdraw_one(session: Session, message: Notification, why: str) -> None:
    """A message never tried is dropped (it never was, for the customer); one tried already stays in the log, failed
    with the reason (its attempts and their errors are what an operator looks at)."""
    if message.attempts == 0:
        session.delete(message)
    else:
        message.status, message.last_error = "failed", why


def _render(message: Notification, recipient: Recipient, texts: Texts) -> None:
    """The message's text anew from its values, in the customer's language."""
    assert message.params is not None
    rendered = texts.render(message.template, recipient.language,
                            {"name": recipient.name, **held.decode(message.params)})
    body = rendered.sms if message.channel == "sms" else rendered.email_text
    if body is None:
        return
    message.language, message.body = recipient.language, body
    if message.channel == "email":
        message.subject = rendered.subject


PAID = "withdrawn: the invoice was paid"
VOIDED = "withdrawn: the invoice was voided"


def _withdraw(matching: str, why: str) -> TextClause:
    """The reminders held and waiting that match, withdrawn (as _withdraw_one: the rows tried already are failed with
    `why`, disjoint from those deleted, never tried)."""
    reminders = f"user_id = :user_id AND template = ANY(:templates) AND {matching}"
    return text(
        f"WITH held AS (DELETE FROM held_messages WHERE {reminders}), "
        f"tried AS (UPDATE notifications SET status = 'failed', last_error = '{why}' "
        f"WHERE {reminders} AND {WAITING} AND {LATER} AND attempts > 0) "
        f"DELETE FROM notifications WHERE {reminders} AND {WAITING} AND {LATER} AND attempts = 0"
    )


# An invoice's by its number; a rental's invoices due from a day (the voided ones: their periods start then or later).
_WITHDRAW_PAID = _withdraw("params ->> 'number' = :number", PAID)
_WITHDRAW_VOIDED = _withdraw("params ->> 'booking_id' = :booking_id AND params -> 'due' ->> 'date' >= :due_from",
                             VOIDED)


def withdraw_invoice_reminders(session: Session, *, user_id: int, number: str) -> None:
    """The invoice is paid: its reminders still waiting (billing's day starts at 06:00, inside the quiet hours, so
    they wait for 08:00; a customer often pays in between, autopay's push among them) or held go no more: they would
    ask for money no longer owed. Those deferred or waiting for a retry only (one on its way cannot be recalled; one
    due now goes, as it would have a moment before)."""
    session.execute(_WITHDRAW_PAID, {"user_id": user_id, "number": number, "templates": list(INVOICE_REMINDERS)})


def withdraw_voided_reminders(session: Session, *, user_id: int, booking_id: int, due_from: date) -> None:
    """The rental ends (cancelled, or a move-out notice) before the periods starting on `due_from` or later: billing
    voids their invoices, and their reminders still waiting or held go no more, as above. An invoice of a period
    started before stays owed, and so do its reminders."""
    session.execute(_WITHDRAW_VOIDED, {"user_id": user_id, "booking_id": str(booking_id),
                                       "due_from": due_from.isoformat(), "templates": list(INVOICE_REMINDERS)})


_ADDRESS = "(CASE n.channel WHEN 'sms' THEN r.phone ELSE r.email END)"
_READDRESS = text(
    "WITH r AS (SELECT phone, email FROM recipients WHERE user_id = :user_id AND erased_at IS NULL) "
    f'UPDATE notifications n SET "to" = coalesce({_ADDRESS}, n."to"), '
    f"status = CASE WHEN {_ADDRESS} IS NULL THEN 'failed' ELSE n.status END, "
    f"last_error = CASE WHEN {_ADDRESS} IS NULL THEN 'withdrawn: the customer removed this address' "
    "ELSE n.last_error END "
    f"FROM r WHERE n.user_id = :user_id AND {WAITING} "
    f'AND n."to" IS DISTINCT FROM {_ADDRESS}'
)


def readdress(session: Session, *, user_id: int) -> None:
    """The customer's phone or email changed (UserUpdated, once applied): the messages still waiting go to the new
    one. The old number may be someone else's by now (a lost SIM, a recycled number), and would get the customer's
    invoice at 08:00. A phone removed: the SMS still waiting go nowhere (failed, and why)."""
    session.execute(_READDRESS, {"user_id": user_id})
