"""A customer's personal data in payments (Kenya's Data Protection Act, s.40): what still needs it (asked by auth
before it erases an account, GET /internal/users/{id}/holds), and its removal once auth has erased the account
(CustomerErased).

The person's rows are their payments (by their own user_id), the refunds owed to them (by their own user_id or, for
unmatched money, through the payment or payments' copy of the booking) and the unmatched money tied to those
payments and bookings. Their phone numbers go, with the payer's number and name inside stored callbacks and the
phone of an operator's prompt in the audit log; amounts, receipts, statuses, dates and ids stay (financial records).
Money still in flight keeps its phone number (a queued push is sent to it, a refund is paid back to it) until it
settles: such a customer is noted (`erased_customers`) and finish_erasures removes the rest then.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from jeshkit.db import autocommit
from jeshkit.internal import Hold
from payments.models import UNSETTLED, Booking, ErasedCustomer, PaybillPayment, Payment, Refund, Unmatched

log = logging.getLogger("payments.service")

METHOD_NAMES = {"mpesa": "M-PESA", "card": "card", "paypal": "PayPal"}
# Keys (of a JSON object) and names (of a Daraja `{"Name"|"Key": ..., "Value": ...}` parameter) that carry a payer's
# phone number or name: STK callbacks' PhoneNumber, B2C results' ReceiverPartyPublicName, Transaction Status's
# DebitPartyName / CreditPartyName ("2547... - Jane Doe"), Pesapal's billing details.
PERSONAL_KEYS = frozenset({
    "phonenumber", "phone_number", "phone", "msisdn", "partya", "partyb", "receiverpartypublicname",
    "debitpartyname", "creditpartyname", "firstname", "middlename", "lastname", "first_name", "middle_name",
    "last_name", "email", "email_address",
})

_PROMPTS_OF = text(
    "UPDATE audit_log SET details = details - 'phone_number' WHERE action = 'payment.prompted' "
    "AND details ->> 'phone_number' IS NOT NULL "
    "AND target IN (SELECT 'payment:' || id FROM payments WHERE user_id = :user_id)"
)


def customer_holds(*, session: Session, user_id: int) -> list[Hold]:
    """What payments still needs the customer's phone number for: each payment whose result is not known yet
    (`pending`, queued or sent; `unknown`, parked for an admin) and each refund owed to them not yet paid."""
    payments = session.scalars(
        select(Payment).where(Payment.user_id == user_id, Payment.status.in_(UNSETTLED)).order_by(Payment.id)
    ).all()
    refunds = session.scalars(
        select(Refund).where(_refund_of(user_id), Refund.status != "paid").order_by(Refund.id)
    ).all()
    return [Hold(kind="payment", id=p.id, detail=_in_flight(p)) for p in payments] + [
        Hold(kind="refund", id=r.id, detail=f"refund {r.id} of KES {r.amount:,} is {r.status}, not yet paid")
        for r in refunds
    ]


def erase_customer(session: Session, *, user_id: int) -> None:
    """Remove the customer's phone numbers (and the payer details of stored callbacks) from their settled payments,
    paid refunds, unmatched money and operators' prompts; money in flight keeps its phone (logged). Idempotent;
    does not commit."""
    session.execute(
        update(Payment)
        .where(Payment.user_id == user_id, Payment.status.not_in(UNSETTLED), Payment.phone_number.is_not(None))
        .values(phone_number=None)
    )
    session.execute(
        update(Refund)
        .where(_refund_of(user_id), Refund.status == "paid", Refund.phone_number.is_not(None))
        .values(phone_number=None)
    )
    session.execute(
        update(Unmatched).where(_unmatched_of(user_id), Unmatched.phone_number.is_not(None)).values(phone_number=None)
    )
    stored = session.execute(
        select(Unmatched.id, Unmatched.payload).where(_unmatched_of(user_id), Unmatched.payload.is_not(None))
    ).all()
    for unmatched_id, payload in stored:
        scrubbed = without_personal_data(payload)
        if scrubbed != payload:
            session.execute(update(Unmatched).where(Unmatched.id == unmatched_id).values(payload=scrubbed))
    paybill = session.execute(
        select(PaybillPayment.id, PaybillPayment.payload)
        .where(PaybillPayment.payment_id.in_(select(Payment.id).where(Payment.user_id == user_id)))
    ).all()
    for paybill_id, payload in paybill:  # the payer's name and (masked) number as M-PESA told them
        session.execute(update(PaybillPayment).where(PaybillPayment.id == paybill_id).values(
            msisdn=None, payer_name=None, phone_number=None,
            payload=without_personal_data(payload) if payload is not None else None))
    session.execute(_PROMPTS_OF, {"user_id": user_id})
    held = customer_holds(session=session, user_id=user_id)
    for hold in held:
        # auth asked for the holds first, so only a race gets here: the money finishes with its phone number, which
        # finish_erasures removes once it has
        log.warning("customer %s erased with money in flight (%s); its phone number goes once it settles", user_id,
                    hold.detail)
    if held:
        session.execute(insert(ErasedCustomer).values(user_id=user_id, erased_at=datetime.now(UTC))
                        .on_conflict_do_nothing())
    else:
        session.execute(delete(ErasedCustomer).where(ErasedCustomer.user_id == user_id))


_ERASURES_WAITING = text("SELECT EXISTS (SELECT FROM erased_customers)")


def finish_erasures(session_factory: sessionmaker[Session]) -> int:
    """The erasures money in flight held back: each customer whose money has all settled since loses the phone numbers
    it kept (claimed with SKIP LOCKED, whichever replica). One cheap statement when there is none."""
    with session_factory() as session, autocommit(session) as connection:
        if not connection.execute(_ERASURES_WAITING).scalar():
            return 0
    finished = 0
    with session_factory() as session:
        waiting = session.scalars(select(ErasedCustomer).with_for_update(skip_locked=True)).all()
        for customer in waiting:
            if not customer_holds(session=session, user_id=customer.user_id):
                erase_customer(session, user_id=customer.user_id)  # settled now: nothing holds it, the row goes
                finished += 1
        session.commit()
    return finished


def without_personal_data(value: Any) -> Any:
    """A stored JSON document without the keys and the named parameters that carry a payer's phone or name."""
    if isinstance(value, dict):
        return {key: without_personal_data(item) for key, item in value.items()
                if key.lower() not in PERSONAL_KEYS}
    if isinstance(value, list):
        return [without_personal_data(item) for item in value if not _personal_parameter(item)]
    return value


def _personal_parameter(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    name = item.get("Name", item.get("Key"))
    return isinstance(name, str) and name.lower() in PERSONAL_KEYS


def _in_flight(payment: Payment) -> str:
    what = f"payment {payment.id} of KES {payment.amount:,} by {METHOD_NAMES.get(payment.method, payment.method)}"
    if payment.status == "unknown":
        return f"{what} got no final answer from its provider: an admin must settle it"
    if payment.push_sent_at is None:
        return f"{what} is queued (autopay), not sent yet"
    return f"{what} is pending: its result is not known yet"


def _refund_of(user_id: int) -> ColumnElement[bool]:
    """The customer's refunds: by their own user_id, or (unmatched money has none) by their payment or booking."""
    return or_(
        Refund.user_id == user_id,
        and_(
            Refund.user_id.is_(None),
            or_(Refund.payment_id.in_(_payments_of(user_id)), Refund.booking_id.in_(_bookings_of(user_id))),
        ),
    )


def _unmatched_of(user_id: int) -> ColumnElement[bool]:
    return or_(Unmatched.payment_id.in_(_payments_of(user_id)), Unmatched.booking_id.in_(_bookings_of(user_id)))


def _payments_of(user_id: int) -> Select[int]:
    return select(Payment.id).where(Payment.user_id == user_id)


def _bookings_of(user_id: int) -> Select[int]:
    return select(Booking.booking_id).where(Booking.user_id == user_id)
