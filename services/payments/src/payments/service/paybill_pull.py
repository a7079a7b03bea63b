"""Pull Transactions: M-PESA lists the payments customers made to the paybill in the last 48 hours. A job asks for
what came since the last time (on one replica: the paybill's row is leased) and takes every receipt we never heard
of, as if its confirmation had come: kept as `received`, then checked by Transaction Status like any other (the list
is trusted no more than a confirmation) and credited. Without it, a lost confirmation waits for an operator's claim.

An admin registers the paybill once (Safaricom must also enable Pull on it for production).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from jeshkit import audit
from jeshkit.security import Principal
from payments.daraja_wire import PulledPayment, whole_shillings
from payments.models import PaybillPayment, PaybillPull
from payments.providers import PaymentProviders, ProviderError
from payments.service.paybill import ask_status, mpesa_of
from payments.service.settle import lease_next
from payments.settings import new_callback_token

log = logging.getLogger("payments.service")

OVERLAP = timedelta(minutes=10)  # the next pull starts this much before the last one ended: late listings
HORIZON = timedelta(hours=47)  # M-PESA keeps 48 hours
MAX_PAGES = 50
FOUND = "found by Pull Transactions: its confirmation never came"


def register(*, session: Session, providers: PaymentProviders, admin: Principal, paybill: str,
             nominated_number: str) -> dict[str, Any]:
    """Register the paybill for Pull Transactions (M-PESA first, no transaction open); its state after. Pulling
    starts with the last 47 hours."""
    session.rollback()
    answer = mpesa_of(providers).register_pull(nominated_number)  # raises ProviderError
    now = datetime.now(UTC)
    session.execute(
        insert(PaybillPull)
        .values(shortcode=paybill, nominated_number=nominated_number, registered_by=admin.id,
                pulled_until=now - HORIZON, updated_at=now - timedelta(days=1))
        .on_conflict_do_update(index_elements=[PaybillPull.shortcode],
                               set_={"nominated_number": nominated_number, "registered_by": admin.id})
    )
    audit.record(session, admin, "paybill.pull_registered", f"paybill:{paybill}",
                 {"nominated_number": nominated_number, "answer": answer})
    session.commit()
    found = state(session=session, paybill=paybill)
    assert found is not None
    return {**found, "answer": answer}


def state(*, session: Session, paybill: str) -> dict[str, Any] | None:
    """The paybill's Pull registration and its last pull, or None when it is not registered."""
    row = session.get(PaybillPull, paybill)
    session.rollback()
    if row is None:
        return None
    return {"business_number": row.shortcode, "nominated_number": row.nominated_number,
            "pulled_until": row.pulled_until, "last_found": row.last_found, "last_error": row.last_error,
            "registered_at": row.created_at}


def pull(*, session_factory: sessionmaker[Session], providers: PaymentProviders, paybill: str,
         interval: timedelta) -> int:
    """One pull, when the paybill is registered and nobody pulled for `interval`: the receipts taken."""
    with session_factory() as session:
        row = lease_next(session, PaybillPull, PaybillPull.shortcode == paybill, idle=interval)
        if row is None:
            session.rollback()
            return 0
        end = datetime.now(UTC)
        start = max(row.pulled_until - OVERLAP, end - HORIZON)
        session.commit()
        listed: list[PulledPayment] = []
        error, complete = None, False
        try:  # no transaction open
            for _ in range(MAX_PAGES):
                page = mpesa_of(providers).pull_paybill(start=start, end=end, offset=len(listed))
                if not page:
                    complete = True
                    break
                listed += page
        except ProviderError as exc:
            error = f"M-PESA did not list the payments: {exc.message}"
            log.warning("Pull Transactions for %s failed: %s", paybill, exc.message)
        if not complete:  # the next pull goes on from the last payment listed (M-PESA lists the oldest first)
            end = max((p.paid_at for p in listed if p.paid_at is not None), default=start + OVERLAP)
        taken = _take(session, paybill, listed)
        for trans_id, token in taken:
            ask_status(providers, trans_id, token)  # committed: no transaction open (the money job asks again)
        row = session.get(PaybillPull, paybill, with_for_update=True, populate_existing=True)
        if row is not None:
            row.pulled_until = max(row.pulled_until, end)
            row.last_found, row.last_error, row.updated_at = len(taken), error, datetime.now(UTC)
        session.commit()
    if taken:
        log.warning("Pull Transactions found %d Paybill payment(s) whose confirmation never came", len(taken))
    return len(taken)


def _take(session: Session, paybill: str, listed: list[PulledPayment]) -> list[tuple[str, str]]:
    """Keep the receipts we never heard of, as received; (receipt, status token) of each kept."""
    rows = [
        {"trans_id": p.trans_id, "shortcode": paybill, "account": p.account, "amount": whole_shillings(p.amount),
         "msisdn": p.msisdn, "paid_at": p.paid_at, "status": "received", "result_token": new_callback_token(),
         "note": FOUND}
        for p in {p.trans_id: p for p in listed}.values()
    ]
    if not rows:
        return []
    # Known ones are left out first: an INSERT that meets a conflict still takes an id from the sequence.
    known = set(session.scalars(select(PaybillPayment.trans_id)
                                .where(PaybillPayment.trans_id.in_([r["trans_id"] for r in rows]))))
    rows = [r for r in rows if r["trans_id"] not in known]
    if not rows:
        session.rollback()
        return []
    taken = session.execute(
        insert(PaybillPayment).values(rows).on_conflict_do_nothing(index_elements=[PaybillPayment.trans_id])
        .returning(PaybillPayment.trans_id, PaybillPayment.result_token)
    ).all()
    session.commit()
    return [(t.trans_id, t.result_token) for t in taken]
