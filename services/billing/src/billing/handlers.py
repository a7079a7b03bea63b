"""Reactions of the billing service to other services' events (idempotent; run inside the consumer's transaction)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing import ending, erasure, service
from billing import events as ev
from billing.rules import Rules
from jeshkit.consumer import Handlers


def make_handlers(rules: Rules) -> Handlers:
    """The consumer's handlers, bound to this process's ladder rules."""

    def on_booking_confirmed(session: Session, data: ev.BookingConfirmed, _: ev.Event) -> None:
        service.start_rental(session=session, data=data)

    def on_booking_cancelled(session: Session, data: ev.BookingCancelled, event: ev.Event) -> None:
        ending.end_rental(session=session, data=data, cancelled_at=event.moment(), rules=rules)

    def on_booking_moved_out(session: Session, data: ev.BookingMovedOut, _: ev.Event) -> None:
        ending.move_out(session=session, data=data, rules=rules)

    def on_payment_succeeded(session: Session, data: ev.PaymentSucceeded, _: ev.Event) -> None:
        service.record_payment(session=session, data=data, rules=rules)

    def on_refund_paid(session: Session, data: ev.RefundPaid, event: ev.Event) -> None:
        service.record_refund(session=session, data=data, occurred_at=event.moment())

    def on_user(session: Session, data: ev.UserRegistered | ev.UserUpdated, event: ev.Event) -> None:
        service.save_tenant(session=session, data=data, stated_at=event.moment())

    def on_customer_erased(session: Session, data: ev.CustomerErased, _: ev.Event) -> None:
        erasure.erase_customer(session=session, data=data)

    def on_unit(session: Session, data: ev.UnitCreated | ev.UnitUpdated, _: ev.Event) -> None:
        service.save_unit(session=session, data=data)

    return {
        ev.BookingConfirmed: on_booking_confirmed,
        ev.BookingCancelled: on_booking_cancelled,
        ev.BookingMovedOut: on_booking_moved_out,
        ev.PaymentSucceeded: on_payment_succeeded,
        ev.RefundPaid: on_refund_paid,
        ev.UserRegistered: on_user,
        ev.UserUpdated: on_user,
        ev.CustomerErased: on_customer_erased,
        ev.UnitCreated: on_unit,
        ev.UnitUpdated: on_unit,
    }
