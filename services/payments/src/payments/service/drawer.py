"""The desk's cash drawer: what goes in (cash taken, float put in) and out (cash handed back, cash banked), the day's
cash book with its opening and closing balances, and the counts an operator makes against it.

The drawer's balance at any moment is the sum of every movement before it, so a drawer banked once a week or kept
with a float is counted against what it really should hold, not against one day's takings."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jeshkit import audit
from jeshkit.clock import NAIROBI, nairobi_today
from jeshkit.errors import BadRequest, Conflict, NotFound
from jeshkit.security import Principal
from payments.models import CashCount, CashMovement, Payment, Refund
from payments.service.cash import DESK

log = logging.getLogger("payments.service")

MovementKind = Literal["banked", "float"]

# The drawer's balance from everything strictly before :until.
_BALANCE = text(
    "SELECT COALESCE((SELECT sum(amount) FROM payments WHERE method = 'cash' AND paid_at < :until), 0)"
    " - COALESCE((SELECT sum(amount) FROM refunds WHERE method = 'cash' AND status = 'paid' AND paid_at < :until), 0)"
    " - COALESCE((SELECT sum(amount) FROM cash_movements WHERE kind = 'banked' AND moved_at < :until), 0)"
    " + COALESCE((SELECT sum(amount) FROM cash_movements WHERE kind = 'float' AND moved_at < :until), 0)"
)
_DRAWER_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('payments.cash_drawer'))")  # one movement at a time


def balance(session: Session, until: datetime) -> int:
    return int(session.execute(_BALANCE, {"until": until}).scalar_one())


def cash_book(*, session: Session, day: date) -> dict[str, Any]:
    """`day` at the desk (Nairobi time), newest first: what the drawer held when it opened, the cash taken and handed
    back, the cash banked and the float put in, what it should hold at the close (or now, today), and the counts."""
    start, end = datetime.combine(day, time.min, NAIROBI), datetime.combine(day, time.max, NAIROBI)  # 9999-12-31 too
    received = session.scalars(
        select(Payment).where(Payment.method == "cash", Payment.paid_at >= start, Payment.paid_at <= end)
        .order_by(Payment.id.desc())
    ).all()
    paid_back = session.scalars(
        select(Refund).where(Refund.method == "cash", Refund.status == "paid", Refund.paid_at >= start,
                             Refund.paid_at <= end)
        .order_by(Refund.id.desc())
    ).all()
    movements = session.scalars(
        select(CashMovement).where(CashMovement.moved_at >= start, CashMovement.moved_at <= end)
        .order_by(CashMovement.id.desc())
    ).all()
    counts = session.scalars(select(CashCount).where(CashCount.day == day).order_by(CashCount.id.desc())).all()
    reversed_by = _reversals(session, [m.id for m in movements])
    opening = balance(session, start)
    received_total = sum(p.amount for p in received)
    paid_back_total = sum(r.amount for r in paid_back)
    banked_total = sum(m.amount for m in movements if m.kind == "banked")
    float_total = sum(m.amount for m in movements if m.kind == "float")
    book = {
        "day": day,
        "opening": opening,
        "received": [
            {"payment_id": p.id, "receipt": p.receipt, "account": p.account_reference, "amount": p.amount,
             "booking_id": p.booking_id, "invoice_id": p.invoice_id, "received_by": p.received_by,
             "note": None if p.result_desc == DESK else p.result_desc, "paid_at": p.paid_at}
            for p in received
        ],
        "received_total": received_total,
        "paid_back": [
            {"refund_id": r.id, "receipt": r.receipt, "amount": r.amount, "booking_id": r.booking_id,
             "invoice_id": r.invoice_id, "paid_by": r.approved_by, "paid_at": r.paid_at}
            for r in paid_back
        ],
        "paid_back_total": paid_back_total,
        "net": received_total - paid_back_total,
        "movements": [movement_view(m, reversed_by.get(m.id)) for m in movements],
        "banked_total": banked_total,
        "float_total": float_total,
        "closing": opening + received_total - paid_back_total - banked_total + float_total,
        "counts": [count_view(c) for c in counts],
    }
    session.rollback()  # after the views: a rollback expires what was loaded, and each row would be read again
    return book


def check_drawer_holds(session: Session, amount: int, act: str) -> None:
    """409 (the transaction rolled back) when the drawer should hold less than `amount`; takes the drawer's lock, held
    until the caller commits."""
    session.execute(_DRAWER_LOCK)
    _refuse_more_than_held(session, amount, act)


def _refuse_more_than_held(session: Session, amount: int, act: str) -> None:
    if amount > (holds := balance(session, datetime.now(UTC))):
        session.rollback()
        raise Conflict(f"Cannot {act} more than the drawer should hold (KES {holds:,})")


def move(*, session: Session, kind: MovementKind, amount: int, reference: str | None, note: str | None,
         key: str | None, admin: Principal) -> tuple[dict[str, Any], bool]:
    """Cash banked out of the drawer (never more than it holds: 409) or float put into it; audited. (The movement,
    whether it was recorded now): the same `key` again with the same kind and amount answers the one recorded then
    (409 with anything else)."""
    session.execute(_DRAWER_LOCK)  # one movement at a time: the same key twice at once waits here, then is a replay
    if key is not None and (done := session.scalars(select(CashMovement)
                                                    .where(CashMovement.idempotency_key == key)).first()):
        session.rollback()
        if (done.kind, done.amount) != (kind, amount):
            raise Conflict("That Idempotency-Key was used for another cash movement")
        return movement_view(done, _reversals(session, [done.id]).get(done.id)), False
    if kind == "banked":
        _refuse_more_than_held(session, amount, "bank")  # under the lock taken above
    movement = CashMovement(kind=kind, amount=amount, reference=reference, note=note, moved_by=admin.id,
                            moved_at=datetime.now(UTC), idempotency_key=key)
    session.add(movement)
    session.flush()
    view = movement_view(movement, reversed_by=None)
    audit.record(session, admin, f"cash.{kind}", f"cash-movement:{movement.id}",
                 {"amount": amount, "reference": reference, "note": note})
    session.commit()
    return view, True


def reverse(*, session: Session, movement_id: int, reason: str, admin: Principal) -> tuple[dict[str, Any], bool]:
    """A movement recorded by mistake, cancelled from now on by its reversal: the same kind, the opposite amount, the
    reason as its note, audited (`cash.reversed`). Reversing a float takes it back out of the drawer, so never more
    than the drawer holds (409). (The reversal, whether it was recorded now): a movement already reversed answers its
    one reversal. 404 for no such movement, 409 for a reversal (record the movement again instead)."""
    session.execute(_DRAWER_LOCK)  # one movement at a time: a reversal sent twice at once waits here, then is a replay
    original = session.get(CashMovement, movement_id)
    if original is None:
        session.rollback()
        raise NotFound("Cash movement not found")
    if original.reverses is not None:
        session.rollback()
        raise Conflict("A reversal cannot be reversed: record the movement again")
    if done := session.scalars(select(CashMovement).where(CashMovement.reverses == movement_id)).first():
        view = movement_view(done, reversed_by=None)
        session.rollback()
        return view, False
    if original.kind == "float":
        _refuse_more_than_held(session, original.amount, "take back")
    reversal = CashMovement(kind=original.kind, amount=-original.amount, reverses=original.id, note=reason,
                            moved_by=admin.id, moved_at=datetime.now(UTC))
    session.add(reversal)
    session.flush()
    view = movement_view(reversal, reversed_by=None)
    audit.record(session, admin, "cash.reversed", f"cash-movement:{original.id}",
                 {"reversal_id": reversal.id, "kind": original.kind, "amount": original.amount, "reason": reason})
    session.commit()
    log.info("cash movement %s (%s, KES %s) reversed by %s", original.id, original.kind, original.amount, reversal.id)
    return view, True


def count_drawer(*, session: Session, day: date | None, counted: int, note: str | None, admin: Principal
                 ) -> dict[str, Any]:
    """The drawer counted for `day` (today in Nairobi by default; never a day to come): kept with what the cash book
    says it should hold at that day's close (today: now), and audited. A recount adds another; the newest is the
    day's."""
    day = day or nairobi_today()
    if day > nairobi_today():
        raise BadRequest("A drawer cannot be counted for a day to come")
    # The book's closing for that day: everything before the next day began (read in this count's transaction).
    expected = balance(session, datetime.combine(day + timedelta(days=1), time.min, NAIROBI))
    count = CashCount(day=day, counted=counted, expected=expected, note=note, counted_by=admin.id,
                      counted_at=datetime.now(UTC))
    session.add(count)
    session.flush()
    view = count_view(count)
    audit.record(session, admin, "cash.counted", f"cash:{day.isoformat()}",
                 {"counted": counted, "expected": expected, "difference": view["difference"], "note": note})
    session.commit()
    if view["difference"]:
        log.warning("the drawer of %s counted KES %s, the cash book says KES %s", day, counted, expected)
    return view


def count_view(count: CashCount) -> dict[str, Any]:
    return {"id": count.id, "day": count.day, "counted": count.counted, "expected": count.expected,
            "difference": count.counted - count.expected, "note": count.note, "counted_by": count.counted_by,
            "counted_at": count.counted_at}


def movement_view(movement: CashMovement, reversed_by: int | None) -> dict[str, Any]:
    return {"id": movement.id, "kind": movement.kind, "amount": movement.amount, "reference": movement.reference,
            "note": movement.note, "moved_by": movement.moved_by, "moved_at": movement.moved_at,
            "reverses": movement.reverses, "reversed_by": reversed_by}


def _reversals(session: Session, ids: list[int]) -> dict[int, int]:
    """{movement id: the id of its reversal} for those of `ids` that were reversed."""
    if not ids:
        return {}
    rows = session.execute(select(CashMovement.reverses, CashMovement.id).where(CashMovement.reverses.in_(ids)))
    return {reversed_id: reversal_id for reversed_id, reversal_id in rows if reversed_id is not None}
