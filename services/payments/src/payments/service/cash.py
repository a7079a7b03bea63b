"""Cash at the desk: an operator takes notes and coins for a pending booking's price or a rental's invoices. It is a
payment like any other (PaymentSucceeded: booking confirms it, billing applies it, the customer gets the receipt SMS),
method `cash`, receipt `CASH-000123` (the desk's receipts numbered in a row, with no gap). The drawer it goes into,
its cash book and its counts: payments.service.drawer.

The account number is read like the Paybill's (`JESH-42`, `INV-000123`, typed loosely) and answered by the same
peers, with no transaction open. A form sent twice records one payment: the console sends an `Idempotency-Key`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jeshkit import audit
from jeshkit.errors import Conflict
from jeshkit.security import Principal
from payments.models import UNSETTLED, Payment
from payments.service.paybill import Miss, Peers, account_number, resolve
from payments.service.settle import succeeded

log = logging.getLogger("payments.service")

DESK = "Cash at the desk"
# The next cash receipt number, in the payment's transaction (a payment rolled back gives its number back; the row
# stays locked until the commit). Without the counter's row (a database restored or emptied by hand) it starts again
# after the highest cash payment's id, which no receipt given before can exceed.
_NEXT_RECEIPT = text(
    "INSERT INTO cash_receipt_numbers (id, last) "
    "SELECT 1, COALESCE(max(id), 0) + 1 FROM payments WHERE method = 'cash' "
    "ON CONFLICT (id) DO UPDATE SET last = cash_receipt_numbers.last + 1 RETURNING last"
)


def receive(*, session: Session, peers: Peers, typed: str, amount: int, note: str | None, key: str | None,
            admin: Principal, release_card_orders: Callable[[int], int]) -> tuple[int, bool]:
    """Record cash an operator took; (the payment's id, whether it was recorded now). The same `key` again with the
    same account and amount answers the payment recorded then; with anything else it is a 409.

    A booking's payment still under way refuses the cash (both would pay it), except a card order its owner left
    unpaid on Pesapal's page: `release_card_orders(booking_id)` asks Pesapal with no transaction open (as a new
    M-PESA prompt does, card.release_unpaid_card_orders), and one nobody paid no longer holds the booking; one paid
    after all makes it paid already."""
    reference = f"cash:{key}" if key else f"cash:{uuid.uuid4().hex}"
    if key is not None and (done := _replayed(session, reference, typed, amount)) is not None:
        return done, False
    target = resolve(session, peers, typed, amount)  # asks billing and booking with no transaction open
    if isinstance(target, Miss):
        raise Conflict(f"That account cannot take this money: {target.reason}")
    if target.cancelled:
        raise Conflict(f"That account cannot take this money: booking {target.account} was cancelled; book again")
    if target.invoice_id is None and _under_way(session, target.booking_id):
        session.rollback()
        if release_card_orders(target.booking_id):
            raise Conflict(f"That account cannot take this money: booking {target.account} is paid already")
        if _under_way(session, target.booking_id):
            session.rollback()
            raise Conflict(f"An M-PESA or card payment of booking {target.account} is still under way: wait for it "
                           "before taking cash")
    now = datetime.now(UTC)
    payment = Payment(
        booking_id=target.booking_id, invoice_id=target.invoice_id, user_id=target.user_id, method="cash",
        amount=amount, status="success", account_reference=target.account, checkout_request_id=reference,
        result_code=0, result_desc=note or DESK, received_by=admin.id, paid_at=now, settled_at=now,
    )
    session.add(payment)
    try:
        session.flush()
    except IntegrityError:  # the same key, sent twice at once: the other one recorded it
        session.rollback()
        if key is not None and (done := _replayed(session, reference, typed, amount)) is not None:
            return done, False
        raise
    payment.receipt = f"CASH-{session.execute(_NEXT_RECEIPT).scalar_one():06d}"  # locks the counter until commit
    succeeded(
        session, payment_id=payment.id, booking_id=payment.booking_id, invoice_id=payment.invoice_id,
        user_id=payment.user_id, amount=amount, method="cash", receipt=payment.receipt,
        checkout_request_id=reference, paid_at=now,
    )
    audit.record(session, admin, "cash.received", f"payment:{payment.id}",
                 {"account": target.account, "amount": amount, "receipt": payment.receipt, "note": note})
    payment_id, receipt = payment.id, payment.receipt
    session.commit()
    log.info("cash KES %s for %s taken by user %s (%s)", amount, target.account, admin.id, receipt)
    return payment_id, True


def _under_way(session: Session, booking_id: int) -> bool:
    """A payment of the booking (not of its invoices) whose outcome is not known yet."""
    return session.scalar(select(Payment.id).where(
        Payment.booking_id == booking_id, Payment.invoice_id.is_(None), Payment.status.in_(UNSETTLED)).limit(1)
    ) is not None


def _replayed(session: Session, reference: str, typed: str, amount: int) -> int | None:
    """The payment an earlier request with this key recorded (None: none); 409 when it was for something else."""
    found = session.execute(
        select(Payment.id, Payment.account_reference, Payment.amount).where(Payment.checkout_request_id == reference)
    ).first()
    session.rollback()
    if found is None:
        return None
    account = account_number(typed)
    if found.amount != amount or account is None or not _same_account(found.account_reference, account):
        raise Conflict("That Idempotency-Key was used for another cash payment")
    return int(found.id)


def _same_account(recorded: str | None, account: str) -> bool:
    # A rental's JESH- account is recorded as the invoice it paid: the key and the amount decide then.
    return recorded == account or (account.startswith("JESH-") and bool(recorded and recorded.startswith("INV-")))
