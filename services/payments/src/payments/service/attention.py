"""Money waiting for a person: what the console's Money page shows at its top (GET /api/payments/admin/attention)
and what the metrics report at every scrape for the alert rules (payments.metrics). One statement, each figure from
an index or a small table.

- `unmatched`: money that paid nothing and has no refund yet (the Money page offers to assign or refund it);
- `payments_unknown`: payments whose outcome M-PESA never told (reconciliation gave up; requery them);
- `refunds_required` (waiting for an operator's approval), `refunds_approved` and `refunds_paying` (waiting for M-PESA
  or Pesapal), `refunds_failed` (refused: a person fixes the cause and approves again), since their last change;
- `paybill_unverified`: Paybill payments Transaction Status has not yet confirmed, since they arrived."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import exists, func, literal, select, union_all

from payments.models import PaybillPayment, Payment, Refund, Unmatched
from payments.service.queries import LISTED_UNMATCHED

What = Literal["unmatched", "payments_unknown", "refunds_required", "refunds_approved", "refunds_paying",
               "refunds_failed", "paybill_unverified"]
WHAT: tuple[What, ...] = ("unmatched", "payments_unknown", "refunds_required", "refunds_approved", "refunds_paying",
                          "refunds_failed", "paybill_unverified")


@dataclass(frozen=True)
class Waiting:
    what: What
    count: int
    kes: int  # their amounts, whole shillings (an unmatched amount M-PESA did not give counts 0)
    oldest_at: datetime | None  # since when the oldest has waited


def _figures(what: Any, amount: Any, since: Any) -> tuple[Any, ...]:
    return what, func.count(), func.coalesce(func.sum(amount), 0), func.min(since)


_WAITING = union_all(
    # Listed to an admin, money (not a failed callback's nothing), and no refund on its way: the Money page's buttons.
    select(*_figures(literal("unmatched"), Unmatched.amount, Unmatched.created_at)).where(
        LISTED_UNMATCHED, func.coalesce(Unmatched.result_code, 0) == 0, func.coalesce(Unmatched.amount, 1) > 0,
        ~exists().where(Refund.unmatched_id == Unmatched.id)),
    select(*_figures(literal("payments_unknown"), Payment.amount, Payment.created_at))
    .where(Payment.status == "unknown"),
    select(*_figures(literal("refunds_") + Refund.status, Refund.amount, Refund.updated_at))
    .where(Refund.status.in_(("required", "approved", "paying", "failed"))).group_by(Refund.status),
    select(*_figures(literal("paybill_unverified"), PaybillPayment.amount, PaybillPayment.created_at))
    .where(PaybillPayment.status.in_(("received", "verified"))),
)


def money_waiting(conn: Any) -> list[Waiting]:
    """Every kind of waiting money, in WHAT's order (a kind with nothing waiting: count 0); `conn` is a Connection or a
    Session (the statement reads only)."""
    found = {what: (int(count), int(kes), oldest) for what, count, kes, oldest in conn.execute(_WAITING)}
    return [Waiting(what, *found.get(what, (0, 0, None))) for what in WHAT]
