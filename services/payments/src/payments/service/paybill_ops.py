"""What operators do with Paybill money: see it, put mistyped money on the right account, and claim a payment whose
confirmation never came by the receipt the customer shows them (M-PESA's Transaction Status then tells its amount)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from jeshkit import audit
from jeshkit.errors import Conflict, NotFound
from jeshkit.security import Principal
from payments.models import PaybillPayment, Payment, Refund, Unmatched
from payments.service.paybill import Miss, Peers, account_number, credit, receipt_owner, resolve
from payments.settings import new_callback_token


def assign(*, session: Session, peers: Peers, unmatched_id: int, typed: str, admin: Principal) -> int:
    """An operator puts unmatched Paybill money (a mistyped account number) on the right booking or invoice; the
    payment's id. The amount must still fit (a booking's price)."""
    money = session.get(Unmatched, unmatched_id)
    if money is None:
        raise NotFound("Unmatched payment not found")
    if money.source != "paybill" or not money.amount:
        raise Conflict("Only money paid to the Paybill can be assigned to an account")
    amount = money.amount
    target = resolve(session, peers, typed, amount)
    if isinstance(target, Miss):
        raise Conflict(f"That account cannot take this money: {target.reason}")
    money = session.get(Unmatched, unmatched_id, with_for_update=True, populate_existing=True)
    row = session.scalars(
        select(PaybillPayment).where(PaybillPayment.unmatched_id == unmatched_id).with_for_update()
    ).first()
    refunded = session.scalar(select(Refund.id).where(Refund.unmatched_id == unmatched_id))
    if money is None or row is None or money.payment_id is not None or row.status != "unmatched" or refunded:
        session.rollback()
        raise Conflict("This money was already assigned or refunded")
    payment_id = credit(session, row, target)
    row.status, row.payment_id, row.updated_at = "applied", payment_id, datetime.now(UTC)
    row.note = f"assigned to {target.account} by an operator (typed {row.account!r})"
    money.payment_id, money.booking_id = payment_id, target.booking_id
    audit.record(session, admin, "unmatched.assigned", f"payment:{payment_id}",
                 {"unmatched_id": unmatched_id, "account": target.account, "amount": amount})
    session.commit()
    return payment_id


def claim(*, session: Session, receipt: str, typed: str, paybill: str, admin: Principal) -> tuple[int, str]:
    """A customer shows the M-PESA SMS of a Paybill payment whose confirmation never reached us: it is kept with the
    account the operator names, and checked with Transaction Status like any other (which also tells its amount);
    (its id, its status token) to ask about. 409 when that receipt is already known."""
    if account_number(typed) is None:
        raise Conflict(f"The account number {typed[:40]!r} names no booking or invoice")
    paid = receipt_owner(session, receipt)
    if paid is not None and session.scalar(select(PaybillPayment.id).where(PaybillPayment.trans_id == receipt)) is None:
        # not Paybill money (known already, below) but an M-PESA Express receipt, say: it paid its payment already
        session.rollback()
        raise Conflict(f"That receipt paid payment {paid} already")
    created = session.execute(
        insert(PaybillPayment)
        .values(trans_id=receipt, shortcode=paybill, account=typed, amount=None, status="received",
                result_token=new_callback_token(), note="claimed by an operator: its confirmation never came")
        .on_conflict_do_nothing(index_elements=[PaybillPayment.trans_id])
        .returning(PaybillPayment.id, PaybillPayment.result_token)
    ).first()
    if created is None:
        session.rollback()
        known = session.scalar(select(PaybillPayment.status).where(PaybillPayment.trans_id == receipt))
        raise Conflict(f"That receipt is known already ({known})")
    audit.record(session, admin, "paybill.claimed", f"paybill:{created[0]}", {"receipt": receipt, "account": typed})
    session.commit()
    return created[0], created[1]


def listing(*, session: Session, limit: int = 200, paybill_id: int | None = None) -> list[dict[str, Any]]:
    """The latest Paybill payments (or the one `paybill_id`), newest first (admin)."""
    query = (
        select(PaybillPayment, Payment.booking_id, Payment.invoice_id)
        .outerjoin(Payment, Payment.id == PaybillPayment.payment_id)
        .order_by(PaybillPayment.id.desc())
        .limit(limit)
    )
    if paybill_id is not None:
        query = query.where(PaybillPayment.id == paybill_id)
    rows = session.execute(query).all()
    return [
        {"id": p.id, "receipt": p.trans_id, "account": p.account, "amount": p.amount, "msisdn": p.msisdn,
         "payer_name": p.payer_name, "paid_at": p.paid_at, "status": p.status, "note": p.note,
         "payment_id": p.payment_id, "booking_id": booking_id, "invoice_id": invoice_id,
         "unmatched_id": p.unmatched_id, "created_at": p.created_at}
        for p, booking_id, invoice_id in rows
    ]
