"""Read-only views: a booking's payment status (with its refund), and the admin lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jeshkit.db import autocommit
from jeshkit.errors import Forbidden, NotFound
from jeshkit.security import Principal
from payments.models import APPLIED_WHEN_TIED, Payment, Refund, Unmatched
from payments.pesapal import reason_for as card_reason
from payments.result_codes import reason_for

# A booking's owner (from payments' copy), its latest payment and the id of its latest refund, in one statement (a
# client polls it while it waits for the M-PESA prompt to be answered).
_STATUS = text(
    "SELECT (SELECT user_id FROM bookings WHERE booking_id = :booking_id) AS owner, p.id, p.user_id, p.status, "
    "p.amount, p.method, p.receipt, p.created_at, p.result_code, p.result_desc, "
    "(SELECT max(id) FROM refunds WHERE booking_id = :booking_id) AS refund_id "
    "FROM (SELECT) one LEFT JOIN LATERAL (SELECT * FROM payments WHERE booking_id = :booking_id "
    "ORDER BY created_at DESC, id DESC LIMIT 1) p ON true"
)


def payment_status(*, session: Session, user: Principal, booking_id: int) -> dict[str, Any]:
    """The latest payment of a booking (and its refund, if any), for its owner or an admin."""
    # One statement: no transaction needed (no BEGIN nor ROLLBACK round trip), and none left for the request's end.
    with autocommit(session) as connection:
        payment = connection.execute(_STATUS, {"booking_id": booking_id}).one()
        refund = session.get(Refund, payment.refund_id) if payment.refund_id is not None else None
    owner = payment.owner if payment.owner is not None else payment.user_id
    if owner is not None and owner != user.id and not user.is_admin:
        raise Forbidden("Unauthorized")
    if payment.id is None:
        raise NotFound("Payment not found")
    return {
        "id": payment.id,
        # `unknown` (an admin is looking into it) is still unsettled for the customer
        "status": "pending" if payment.status == "unknown" else payment.status,
        "amount": payment.amount,
        "method": payment.method,
        "transaction_code": payment.receipt,
        "timestamp": payment.created_at,
        "refund": refund_view(refund) if refund is not None else None,
        "reason": _failure_reason(payment),
    }


def _failure_reason(payment: Any) -> str | None:
    """Why a failed payment failed, in words the customer can read (the portal shows it beside the retry)."""
    if payment.status != "failed":
        return None
    if payment.result_code is None:
        return "The payment failed"
    if payment.method == "card":  # Pesapal's status codes, not Daraja's
        return card_reason(payment.result_code, None if payment.result_desc == "Failed" else payment.result_desc)
    return reason_for(payment.result_code, payment.result_desc)


def refund_view(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "booking_id": refund.booking_id,
        "invoice_id": refund.invoice_id,
        "user_id": refund.user_id,
        "amount": refund.amount,
        "reason": refund.reason,
        "status": refund.status,
        "method": refund.method,
        "phone_number": refund.phone_number,
        "receipt": refund.receipt,
        "failure_reason": refund.failure_reason,
        "created_at": refund.created_at,
    }


def list_refunds(*, session: Session, status: str | None) -> list[dict[str, Any]]:
    query = select(Refund).order_by(Refund.id.desc()).limit(500)
    if status:
        query = query.where(Refund.status == status)
    return [refund_view(r) for r in session.scalars(query)]


# The unmatched money an admin sees: all of it but a callback or a Paybill payment later applied to a payment.
LISTED_UNMATCHED = Unmatched.payment_id.is_(None) | Unmatched.source.not_in(APPLIED_WHEN_TIED)


def list_unmatched(*, session: Session) -> list[dict[str, Any]]:
    """Money that settles no payment: callbacks for unknown references, payments a booking could not take."""
    rows = session.execute(
        select(Unmatched, Refund.id)
        .outerjoin(Refund, Refund.unmatched_id == Unmatched.id)
        .where(LISTED_UNMATCHED)
        .order_by(Unmatched.id.desc())
        .limit(500)
    ).all()
    return [
        {
            "id": u.id,
            "source": u.source,
            "reference": u.reference,
            "amount": u.amount,
            "receipt": u.receipt,
            "phone_number": u.phone_number,
            "result_code": u.result_code,
            "reason": u.reason,
            "payment_id": u.payment_id,
            "booking_id": u.booking_id,
            "refund_id": refund_id,
            "created_at": u.created_at,
        }
        for u, refund_id in rows
    ]


def list_payments(*, session: Session, status: str | None, booking_id: int | None) -> list[dict[str, Any]]:
    """Payments for an admin, newest first; `status=unknown` lists those reconciliation gave up on."""
    query = select(Payment).order_by(Payment.id.desc()).limit(500)
    if status:
        query = query.where(Payment.status == status)
    if booking_id is not None:
        query = query.where(Payment.booking_id == booking_id)
    return [payment_record(p) for p in session.scalars(query)]


def payment_record(p: Payment) -> dict[str, Any]:
    """A payment as an admin sees it."""
    return {
        "id": p.id,
        "booking_id": p.booking_id,
        "invoice_id": p.invoice_id,
        "user_id": p.user_id,
        "amount": p.amount,
        "method": p.method,
        "status": p.status,
        "phone_number": p.phone_number,
        "checkout_request_id": p.checkout_request_id,
        "receipt": p.receipt,
        "check_attempts": p.check_attempts,
        "discrepancy": p.discrepancy,
        "created_at": p.created_at,
    }
