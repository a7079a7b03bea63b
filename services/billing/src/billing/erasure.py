"""A customer's erasure (Kenya's Data Protection Act, section 40): what billing still needs the person for, asked by
auth before it erases them, and what billing forgets of them when it has (CustomerErased).

Billing forgets the tenant's name, e-mail and phone, the phone autopay prompted, and the AutopayRequested events in
its outbox that carried it. It keeps its financial records under the account's id: rentals, invoices and their
lines, payments, refunds, amounts, receipts and dates (the reports show the placeholder name). Its audit log holds
no personal data (only the test clock's dates)."""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from billing import events as ev
from billing.models import Invoice, Rental, Tenant
from jeshkit.erasure import ERASED_NAME, forget_personal_events
from jeshkit.internal import Hold


def holds(*, session: Session, user_id: int) -> list[Hold]:
    """The user's open invoices that still have a balance to pay (a live rental is booking's to report)."""
    invoices = session.scalars(
        select(Invoice)
        .where(Invoice.user_id == user_id, Invoice.status == "open", Invoice.total > Invoice.amount_paid)
        .order_by(Invoice.due_date, Invoice.id)
    ).all()
    return [
        Hold(kind="invoice", id=invoice.id, detail=f"invoice {invoice.number} is open: KES {invoice.balance:,} owed")
        for invoice in invoices
    ]


def erase_customer(*, session: Session, data: ev.CustomerErased) -> None:
    """CustomerErased: the tenant's copy becomes the placeholder, marked erased for good (made so even when billing
    never heard of the user, so that a late UserRegistered finds the mark); autopay is off and its phone gone; the
    outbox's AutopayRequested events of the user go. Applying it again changes nothing."""
    stmt = pg_insert(Tenant).values(
        user_id=data.user_id, name=ERASED_NAME, email=None, phone=None, erased_at=data.erased_at
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Tenant.user_id],
            set_={"name": ERASED_NAME, "email": None, "phone": None,
                  "erased_at": func.coalesce(Tenant.erased_at, stmt.excluded.erased_at)},
        )
    )
    session.execute(
        update(Rental)
        .where(Rental.user_id == data.user_id, or_(Rental.autopay_enabled, Rental.autopay_phone.is_not(None)))
        .values(autopay_enabled=False, autopay_phone=None, updated_at=func.now())
    )
    forget_personal_events(session, user_id=data.user_id)  # AutopayRequested carried the phone
