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

from sqlalchemy import text

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


_UNMATCHED_WAITING = ("COALESCE(u.result_code, 0) = 0 AND COALESCE(u.amount, 1) > 0"
                      " AND (u.payment_id IS NULL OR u.source NOT IN ('stk_callback', 'paybill'))"
                      " AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.unmatched_id = u.id)")
_WAITING = text(f"""
SELECT 'unmatched', count(*), COALESCE(sum(u.amount), 0), min(u.created_at) FROM unmatched u
  WHERE {_UNMATCHED_WAITING}
UNION ALL
SELECT 'payments_unknown', count(*), COALESCE(sum(amount), 0), min(created_at) FROM payments WHERE status = 'unknown'
UNION ALL
SELECT 'refunds_' || status, count(*), COALESCE(sum(amount), 0), min(updated_at) FROM refunds
  WHERE status IN ('required', 'approved', 'paying', 'failed') GROUP BY status
UNION ALL
SELECT 'paybill_unverified', count(*), COALESCE(sum(amount), 0), min(created_at) FROM paybill_payments
  WHERE status IN ('received', 'verified')
""")


def money_waiting(conn: Any) -> list[Waiting]:
    """Every kind of waiting money, in WHAT's order (a kind with nothing waiting: count 0); `conn` is a Connection or a
    Session (the statement reads only)."""
    found = {what: (int(count), int(kes), oldest) for what, count, kes, oldest in conn.execute(_WAITING)}
    return [Waiting(what, *found.get(what, (0, 0, None))) for what in WHAT]
