"""Reactions of the notifications service to other services' events (idempotent; inside the consumer's transaction).

Each event queues at most one message per channel, keyed by the event's id (the booking confirmation, made
of BookingConfirmed and PaymentSucceeded, is keyed by the booking). Sending happens later, in delivery.py.
The kit validates each event's data against its model (jeshkit.events) before a handler runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from jeshkit.clock import NAIROBI
from jeshkit.consumer import Handler, Handlers
from jeshkit.erasure import forget_personal_events
from jeshkit.events import (
    AccessRestored,
    AccessSuspended,
    AccountChanged,
    BookingCancelled,
    BookingConfirmed,
    BookingCreated,
    BookingMovedOut,
    CustomerErased,
    ErasureRequested,
    Event,
    InvoiceIssued,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceReminder,
    PasswordChanged,
    PasswordResetRequested,
    PaymentFailed,
    PaymentSucceeded,
    PaymentUnmatched,
    RefundPaid,
    RentPaymentApplied,
    TransportStatusChanged,
    UserRegistered,
    UserUpdated,
)
from jeshkit.events.billing import AccessFacts, InvoiceFacts
from notifications import erasure, service, waiting
from notifications.links import reset_link
from notifications.service import Policy
from notifications.texts import Phrase

ACCOUNT_TEMPLATES = {"closed": "account_closed", "reopened": "account_reopened", "role": "role_changed"}
TRANSPORT_TEMPLATES = {"scheduled": "transport_scheduled", "completed": "transport_completed"}


def receipt_values(data: RentPaymentApplied) -> dict[str, Any]:
    """A payment's receipt: how much and how it was paid, what it paid (the invoices, oldest first, or none: the
    rental), and what the rental owes after it (still due, nothing, paid ahead, or going back: it had ended)."""
    owing = "refund" if data.refund else "due" if data.balance else "ahead" if data.credit else "paid"
    values: dict[str, Any] = {
        "amount": data.amount, "receipt": data.receipt, "balance": data.balance,
        "credit": data.credit, "refund": data.refund, "paid_with": Phrase("paid_with", data.method),
        "paid_how": Phrase("paid_how", data.method), "paid_for": Phrase("paid_for", str(len(data.invoices))),
        "owing": Phrase("owing", owing),
    }
    if data.invoices:
        values.update(number=data.invoices[0].number, last=data.invoices[-1].number, more=len(data.invoices) - 1)
    return values


def make_handlers(policy: Policy) -> Handlers:
    """The event model → handler registry, bound to the texts and timing rules."""

    def on_user_registered(session: Session, data: UserRegistered, event: Event) -> None:
        service.remember_user(session=session, user_id=data.user_id, email=data.email, phone=data.phone,
                              name=data.name, as_of=event.moment())
        service.notify(session=session, policy=policy, user_id=data.user_id, template="welcome",
                       source_key=event.id, values={})

    def on_user_updated(session: Session, data: UserUpdated, event: Event) -> None:
        service.remember_user(session=session, user_id=data.user_id, email=data.email, phone=data.phone,
                              name=data.name, as_of=event.moment())
        waiting.readdress(session, user_id=data.user_id)  # what still waits goes to the details as they are now

    def on_password_reset_requested(session: Session, data: PasswordResetRequested, event: Event) -> None:
        # Email only (texts.EMAIL_ONLY), at once: the link is a secret and lives half an hour (a reset) or days (the
        # first password of an account an operator opened: its email names the day).
        link = reset_link(policy.portal_url, data.token)
        if data.purpose == "invite":
            service.notify(session=session, policy=policy, user_id=data.user_id, template="account_invite",
                           source_key=event.id, values={"link": link, "expires": data.expires_at,
                                                        "until": data.expires_at.astimezone(NAIROBI).date()})
            return
        service.notify(session=session, policy=policy, user_id=data.user_id, template="password_reset",
                       source_key=event.id, values={"link": link, "expires": data.expires_at})

    def on_password_changed(session: Session, data: PasswordChanged, event: Event) -> None:
        service.notify(session=session, policy=policy, user_id=data.user_id, template="password_changed",
                       source_key=event.id,
                       values={"at": event.moment(), "how": Phrase("password_how", data.how),
                               "advice": Phrase("password_advice", data.how)})

    def on_account_changed(session: Session, data: AccountChanged, event: Event) -> None:
        # A security message: at once, whatever the opt-outs; a change the owner did not expect is a call to make.
        values: dict[str, Any] = {"at": event.moment()}
        if data.change == "role":
            values["role"] = Phrase("roles", data.role)
        service.notify(session=session, policy=policy, user_id=data.user_id, template=ACCOUNT_TEMPLATES[data.change],
                       source_key=event.id, values=values)

    def on_erasure_requested(session: Session, data: ErasureRequested, event: Event) -> None:
        # What the customer just did, about their account: at once, whatever the opt-outs and quiet hours, as the
        # account messages go (one they did not make is a call to make). The day it was asked, in Nairobi.
        service.notify(session=session, policy=policy, user_id=data.user_id, template="erasure_requested",
                       source_key=event.id, values={"on": data.requested_at.astimezone(NAIROBI).date()})

    def on_customer_erased(session: Session, data: CustomerErased, event: Event) -> None:
        # Kenya's DPA s.40: the person's details and the texts of their messages go, the rows stay (erasure.py).
        erasure.erase_customer(session=session, user_id=data.user_id, erased_at=data.erased_at)
        forget_personal_events(session, user_id=data.user_id)

    def on_booking_created(session: Session, data: BookingCreated, event: Event) -> None:
        service.booking_created(
            session=session, policy=policy, source_key=event.id, booking_id=data.booking_id, user_id=data.user_id,
            unit_id=data.unit_id, start_date=data.start_date, end_date=data.end_date,
            total_price=data.total_price, hold_expires_at=data.hold_expires_at,
        )

    def on_booking_confirmed(session: Session, data: BookingConfirmed, event: Event) -> None:
        service.booking_confirmed(
            session=session, policy=policy, booking_id=data.booking_id, user_id=data.user_id, unit_id=data.unit_id,
            start_date=data.start_date, end_date=data.end_date, total_price=data.total_price,
        )

    def on_booking_cancelled(session: Session, data: BookingCancelled, event: Event) -> None:
        service.booking_cancelled(session=session, policy=policy, source_key=event.id, booking_id=data.booking_id,
                                  user_id=data.user_id, start_date=data.start_date, reason=data.reason)
        # A rental's: billing voids its months from tomorrow on (the one under way stays owed).
        cancelled_on = event.moment().astimezone(NAIROBI).date()
        waiting.withdraw_voided_reminders(session, user_id=data.user_id, booking_id=data.booking_id,
                                          due_from=cancelled_on + timedelta(days=1))

    def on_booking_moved_out(session: Session, data: BookingMovedOut, event: Event) -> None:
        # No month starting on or after the move-out date is billed: billing voids their invoices.
        waiting.withdraw_voided_reminders(session, user_id=data.user_id, booking_id=data.booking_id,
                                          due_from=data.move_out_date)

    def on_payment_succeeded(session: Session, data: PaymentSucceeded, event: Event) -> None:
        if data.invoice_id is not None:
            return  # a rental's payment: billing's RentPaymentApplied is its receipt, once it is applied
        service.payment_succeeded(session=session, policy=policy, booking_id=data.booking_id, user_id=data.user_id,
                                  amount=data.amount, receipt=data.receipt, method=data.method)

    def on_payment_failed(session: Session, data: PaymentFailed, event: Event) -> None:
        service.payment_failed(session=session, policy=policy, source_key=event.id, booking_id=data.booking_id,
                               user_id=data.user_id, amount=data.amount, result_code=data.result_code,
                               method=data.method)

    def on_rent_payment_applied(session: Session, data: RentPaymentApplied, event: Event) -> None:
        # The reminders still waiting of the invoices it paid ask for what is left.
        waiting.paid_towards(session, user_id=data.user_id, paid=[(i.number, i.amount) for i in data.invoices],
                             texts=policy.texts)
        # The receipt of every payment billing applied to a rental, whatever it paid (part of an invoice, several, none
        # at all): at once, whatever the opt-outs (a receipt, not a reminder), once per event and channel.
        service.notify(session=session, policy=policy, user_id=data.user_id, template="payment_received",
                       source_key=event.id, values=receipt_values(data))

    def on_refund_paid(session: Session, data: RefundPaid, event: Event) -> None:
        service.notify(session=session, policy=policy, user_id=data.user_id, template="refund_paid",
                       source_key=event.id,
                       values={"booking_id": data.booking_id, "amount": data.amount, "receipt": data.receipt,
                               "refund_to": Phrase("refund_to", data.method)})

    def on_payment_unmatched(session: Session, data: PaymentUnmatched, event: Event) -> None:
        # Money paid to the Paybill that pays nothing its account names: whoever it is about hears at once that it
        # waits (a receipt, not a reminder). The customer of the booking or invoice it names, else the customer with
        # the paying phone; nobody we know: an operator deals with it (the console's unmatched money).
        user_id = data.user_id or service.customer_with_phone(session, data.phone_number)
        if user_id is None:
            return
        values: dict[str, Any] = {"amount": data.amount, "receipt": data.receipt}
        if data.reason == "wrong_amount" and data.booking_id is not None and data.price is not None:
            template = "payment_wrong_amount"
            values.update(booking_id=data.booking_id, price=data.price)
        else:  # as typed, cut to fit one SMS
            template = "payment_unmatched"
            values.update(account=data.account[:12], why=Phrase("unmatched_why", data.reason))
        service.notify(session=session, policy=policy, user_id=user_id, template=template, source_key=event.id,
                       values=values)

    def on_transport_status_changed(session: Session, data: TransportStatusChanged, event: Event) -> None:
        template = TRANSPORT_TEMPLATES.get(data.status)
        if template is not None:
            service.notify(session=session, policy=policy, user_id=data.user_id, template=template,
                           source_key=event.id, values={"request_id": data.request_id})

    def invoice_handler(template: str) -> Handler:
        def handle(session: Session, data: InvoiceFacts, event: Event) -> None:
            if isinstance(data, InvoicePaid):  # what still waits to ask for its money goes no more
                waiting.withdraw_invoice_reminders(session, user_id=data.user_id, number=data.number)
            if isinstance(data, InvoicePaid) and data.with_booking:
                return  # a rental's first invoice, paid with the booking: its confirmation names that money
            if isinstance(data, InvoicePaid) and data.payment_id is not None:
                return  # a payment finished it: that payment's RentPaymentApplied is the receipt (of all it paid)
            if isinstance(data, InvoiceIssued) and data.balance == 0:
                return  # paid at once by money paid ahead: nothing to ask for (its InvoicePaid tells the customer)
            # booking_id: no text shows it; a reminder waiting keeps it (a cancelled rental's go no more).
            values = {"number": data.number, "total": data.total, "balance": data.balance, "due": data.due_date,
                      "booking_id": data.booking_id}
            if isinstance(data, InvoiceReminder):  # "today", "tomorrow", "in 3 days" (not "in 0 days")
                values.update(days=data.days_until_due, when=Phrase("due_in", str(data.days_until_due)))
            elif isinstance(data, InvoiceOverdue):  # "1 day overdue", "5 days overdue, with a late fee of KES 500"
                values.update(days=data.days_overdue, late_fee=data.late_fee,
                              late=Phrase("days_late", str(data.days_overdue)),
                              with_fee=Phrase("with_fee", "other" if data.late_fee else "none"))
            elif isinstance(data, InvoicePaid):
                # No method and no receipt: the rental's credit paid it (no payment, no ref will ever come). With them
                # (an event from before RentPaymentApplied, which named no payment_id): the receipt it always was.
                how = "credit" if data.method is None and data.receipt is None else data.method or "other"
                values.update(amount=data.amount_paid, receipt=data.receipt,
                              paid_with=Phrase("paid_with", data.method or "other"), paid_how=Phrase("paid_how", how))
            service.notify(session=session, policy=policy, user_id=data.user_id, template=template,
                           source_key=event.id, values=values)

        return handle

    def access_handler(template: str) -> Handler:
        def handle(session: Session, data: AccessFacts, event: Event) -> None:
            service.notify(session=session, policy=policy, user_id=data.user_id, template=template,
                           source_key=event.id, values={"booking_id": data.booking_id, "balance": data.balance})

        return handle

    return {
        UserRegistered: on_user_registered,
        UserUpdated: on_user_updated,
        PasswordResetRequested: on_password_reset_requested,
        PasswordChanged: on_password_changed,
        AccountChanged: on_account_changed,
        ErasureRequested: on_erasure_requested,
        CustomerErased: on_customer_erased,
        BookingCreated: on_booking_created,
        BookingConfirmed: on_booking_confirmed,
        BookingCancelled: on_booking_cancelled,
        BookingMovedOut: on_booking_moved_out,
        PaymentSucceeded: on_payment_succeeded,
        PaymentFailed: on_payment_failed,
        PaymentUnmatched: on_payment_unmatched,
        RefundPaid: on_refund_paid,
        RentPaymentApplied: on_rent_payment_applied,
        TransportStatusChanged: on_transport_status_changed,
        InvoiceIssued: invoice_handler("invoice_issued"),
        InvoiceReminder: invoice_handler("payment_reminder"),
        InvoiceOverdue: invoice_handler("invoice_overdue"),
        InvoicePaid: invoice_handler("payment_received"),
        AccessSuspended: access_handler("access_suspended"),
        AccessRestored: access_handler("access_restored"),
    }
