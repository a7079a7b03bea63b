"""Money waiting for a person, read from payments' database at every scrape (a scrape reader of its app): the alert
rules (deploy/monitoring/alerts.yml, group jesh-money) tell the operators before a customer has to.

- unmatched money: paid, settling nothing, with no refund yet (what the console's Money page offers to assign or
  refund);
- payments whose outcome M-PESA never told (`unknown`: reconciliation gave up; the console requeries them);
- refunds not yet paid, by status (`required` waits for an operator's approval, `approved` and `paying` for M-PESA or
  Pesapal, `failed` for a person);
- Paybill payments still unverified (Transaction Status has not answered).
Each replica reports the same figures: the rules take the max by service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from jeshkit import metrics

UNMATCHED_WAITING = metrics.gauge("unmatched_money_waiting", "Money that paid nothing and has no refund yet: each "
                                  "waits for an operator to assign or refund it")
UNMATCHED_WAITING_KES = metrics.gauge("unmatched_money_waiting_kes", "Kenya shillings of that money")
UNMATCHED_OLDEST_AGE = metrics.gauge("unmatched_money_oldest_age_seconds",
                                     "How long the oldest of that money has waited (0: none)")
PAYMENTS_UNKNOWN = metrics.gauge("payments_outcome_unknown", "Payments whose outcome M-PESA never told "
                                 "(reconciliation gave up): each needs a requery or a look at the statement")
PAYMENTS_UNKNOWN_OLDEST_AGE = metrics.gauge("payments_outcome_unknown_oldest_age_seconds",
                                            "How long ago the oldest of those payments began (0: none)")
REFUNDS_OPEN = metrics.gauge("refunds_open", "Refunds not yet paid, by status (required, approved, paying, failed)",
                             ["status"])
REFUNDS_OPEN_OLDEST_AGE = metrics.gauge("refunds_open_oldest_age_seconds",
                                        "How long the oldest refund of each status has been in it (0: none)",
                                        ["status"])
PAYBILL_UNVERIFIED_OLDEST_AGE = metrics.gauge("paybill_unverified_oldest_age_seconds",
                                              "How long the oldest Paybill payment not yet checked by Transaction "
                                              "Status has waited (0: none)")

OPEN_REFUND_STATUSES = ("required", "approved", "paying", "failed")

# One round trip: every figure, each from an index or a small table.
_WAITING = text("""
SELECT
  (SELECT count(*) FROM unmatched u WHERE {waiting}),
  (SELECT COALESCE(sum(u.amount), 0) FROM unmatched u WHERE {waiting}),
  (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(u.created_at)), 0) FROM unmatched u WHERE {waiting}),
  (SELECT count(*) FROM payments WHERE status = 'unknown'),
  (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) FROM payments WHERE status = 'unknown'),
  (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(updated_at)), 0) FROM paybill_payments
    WHERE status IN ('received', 'verified')),
  (SELECT COALESCE(jsonb_object_agg(status, jsonb_build_array(n, age)), '{{}}'::jsonb) FROM (
     SELECT status, count(*) AS n, EXTRACT(EPOCH FROM now() - min(updated_at)) AS age FROM refunds
     WHERE status IN ('required', 'approved', 'paying', 'failed') GROUP BY status) AS open)
""".format(waiting="COALESCE(u.result_code, 0) = 0 AND COALESCE(u.amount, 1) > 0"
                   " AND (u.payment_id IS NULL OR u.source NOT IN ('stk_callback', 'paybill'))"
                   " AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.unmatched_id = u.id)"))


def read_waiting_money(conn: Any) -> None:
    unmatched, kes, oldest, unknown, unknown_oldest, paybill_oldest, refunds = conn.execute(_WAITING).one()
    UNMATCHED_WAITING.set(unmatched)
    UNMATCHED_WAITING_KES.set(kes)
    UNMATCHED_OLDEST_AGE.set(oldest)
    PAYMENTS_UNKNOWN.set(unknown)
    PAYMENTS_UNKNOWN_OLDEST_AGE.set(unknown_oldest)
    PAYBILL_UNVERIFIED_OLDEST_AGE.set(paybill_oldest)
    for status in OPEN_REFUND_STATUSES:
        count, age = refunds.get(status, (0, 0))
        REFUNDS_OPEN.labels(status).set(count)
        REFUNDS_OPEN_OLDEST_AGE.labels(status).set(age)
