"""Reactions of the notifications service to other services' events (idempotent; inside the consumer's transaction).

Each event queues at most one message per channel, keyed by the event's id (the booking confirmation, made
of BookingConfirmed and PaymentSucceeded, is keyed by the booking). Sending happens later, in delivery.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from jeshkit.consumer import Handler, PoisonEvent
from jeshkit.outbox import Event
from notifications import events, service
from notifications.service import Policy

M = TypeVar("M", bound=BaseModel)


def _data(model: type[M], event: Event) -> M:
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        raise PoisonEvent(f"{event.type} data does not match its schema: {exc}") from None


def make_handlers(policy: Policy) -> dict[str, Handler]:
    """The event type → handler registry, bound to the texts and timing rules."""

    def on_user_registered(session: Session, event: Event) -> None:
        data = _data(events.UserRegistered, event)
        service.remember_user(session=session, user_id=data.user_id, email=data.email, phone=data.phone,
                              name=data.name)
        service.notify(session=session, policy=policy, user_id=data.user_id, template="welcome",
                       source_key=event.id, values={})

    def on_user_updated(session: Session, event: Event) -> None:
        data = _data(events.UserUpdated, event)
        service.remember_user(session=session, user_id=data.user_id, email=data.email, phone=data.phone,
                              name=data.name)

    def on_booking_created(session: Session, event: Event) -> None:
        data = _data(events.BookingCreated, event)
        service.booking_created(
            session=session, policy=policy, source_key=event.id, booking_id=data.booking_id, user_id=data.user_id,
            unit_id=data.unit_id, start_date=data.start_date, end_date=data.end_date,
            total_price=data.total_price, hold_expires_at=data.hold_expires_at,
        )

    def on_booking_confirmed(session: Session, event: Event) -> None:
        data = _data(events.BookingConfirmed, event)
        service.booking_confirmed(
            session=session, policy=policy, booking_id=data.booking_id, user_id=data.user_id, unit_id=data.unit_id,
            start_date=data.start_date, end_date=data.end_date, total_price=data.total_price,
        )

    def on_booking_cancelled(session: Session, event: Event) -> None:
        data = _data(events.BookingCancelled, event)
        service.booking_cancelled(session=session, policy=policy, source_key=event.id, booking_id=data.booking_id,
                                  user_id=data.user_id, start_date=data.start_date, reason=data.reason)

    def on_payment_succeeded(session: Session, event: Event) -> None:
        data = _data(events.PaymentSucceeded, event)
        if data.invoice_id is not None:
            return  # an invoice's payment: billing's events speak of it
        service.payment_succeeded(session=session, policy=policy, booking_id=data.booking_id, user_id=data.user_id,
                                  amount=data.amount, receipt=data.receipt)

    def on_payment_failed(session: Session, event: Event) -> None:
        data = _data(events.PaymentFailed, event)
        service.payment_failed(session=session, policy=policy, source_key=event.id, booking_id=data.booking_id,
                               user_id=data.user_id, amount=data.amount, result_code=data.result_code)

    def on_refund_paid(session: Session, event: Event) -> None:
        data = _data(events.RefundPaid, event)
        service.notify(session=session, policy=policy, user_id=data.user_id, template="refund_paid",
                       source_key=event.id,
                       values={"booking_id": data.booking_id, "amount": data.amount, "receipt": data.receipt})

    def on_transport_status_changed(session: Session, event: Event) -> None:
        data = _data(events.TransportStatusChanged, event)
        template = {"scheduled": "transport_scheduled", "completed": "transport_completed"}.get(data.status)
        if template is not None:
            service.notify(session=session, policy=policy, user_id=data.user_id, template=template,
                           source_key=event.id, values={"request_id": data.request_id})

    def invoice_handler(model: type[events.Invoice], template: str,
                        extra: Callable[[events.Invoice], dict[str, Any]]) -> Handler:
        def handle(session: Session, event: Event) -> None:
            data = _data(model, event)
            values = {"number": data.number, "total": data.total, "balance": data.balance, "due": data.due_date,
                      **extra(data)}
            service.notify(session=session, policy=policy, user_id=data.user_id, template=template,
                           source_key=event.id, values=values)

        return handle

    def access_handler(model: type[events.AccessSuspended], template: str) -> Handler:
        def handle(session: Session, event: Event) -> None:
            data = _data(model, event)
            service.notify(session=session, policy=policy, user_id=data.user_id, template=template,
                           source_key=event.id, values={"booking_id": data.booking_id, "balance": data.balance})

        return handle

    return {
        "UserRegistered": on_user_registered,
        "UserUpdated": on_user_updated,
        "BookingCreated": on_booking_created,
        "BookingConfirmed": on_booking_confirmed,
        "BookingCancelled": on_booking_cancelled,
        "PaymentSucceeded": on_payment_succeeded,
        "PaymentFailed": on_payment_failed,
        "RefundPaid": on_refund_paid,
        "TransportStatusChanged": on_transport_status_changed,
        "InvoiceIssued": invoice_handler(events.InvoiceIssued, "invoice_issued", lambda _: {}),
        "InvoiceReminder": invoice_handler(
            events.InvoiceReminder, "payment_reminder",
            lambda d: {"days": d.days_until_due} if isinstance(d, events.InvoiceReminder) else {},
        ),
        "InvoiceOverdue": invoice_handler(
            events.InvoiceOverdue, "invoice_overdue",
            lambda d: {"days": d.days_overdue, "late_fee": d.late_fee} if isinstance(d, events.InvoiceOverdue) else {},
        ),
        "InvoicePaid": invoice_handler(
            events.InvoicePaid, "payment_received",
            lambda d: {"amount": d.amount_paid, "receipt": d.receipt} if isinstance(d, events.InvoicePaid) else {},
        ),
        "AccessSuspended": access_handler(events.AccessSuspended, "access_suspended"),
        "AccessRestored": access_handler(events.AccessRestored, "access_restored"),
    }
