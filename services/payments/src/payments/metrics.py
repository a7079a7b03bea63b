"""Money waiting for a person, read from payments' database at every scrape (a scrape reader of its app;
payments.service.attention says what each figure counts): the alert rules (deploy/monitoring/alerts.yml, group
jesh-money) tell the operators before a customer has to. Each replica reports the same figures: the rules take the
max by service."""

from __future__ import annotations

import time
from typing import Any

from jeshkit import metrics
from payments.service.attention import money_waiting

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


def read_waiting_money(conn: Any) -> None:
    now = time.time()
    for waiting in money_waiting(conn):
        age = now - waiting.oldest_at.timestamp() if waiting.oldest_at is not None else 0.0
        if waiting.what == "unmatched":
            UNMATCHED_WAITING.set(waiting.count)
            UNMATCHED_WAITING_KES.set(waiting.kes)
            UNMATCHED_OLDEST_AGE.set(age)
        elif waiting.what == "payments_unknown":
            PAYMENTS_UNKNOWN.set(waiting.count)
            PAYMENTS_UNKNOWN_OLDEST_AGE.set(age)
        elif waiting.what == "paybill_unverified":
            PAYBILL_UNVERIFIED_OLDEST_AGE.set(age)
        else:
            status = waiting.what.removeprefix("refunds_")
            REFUNDS_OPEN.labels(status).set(waiting.count)
            REFUNDS_OPEN_OLDEST_AGE.labels(status).set(age)
