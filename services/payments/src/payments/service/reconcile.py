"""Reconciliation: every payment reaches a final state. Pushes whose callback is late, lost or unconfirmed
are settled with STK Push Query, with backoff, up to a bound; then parked as `unknown` for an admin, who may ask
again (requery_unknown_payment)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from jeshkit import audit
from jeshkit.db import autocommit
from jeshkit.errors import Conflict, NotFound, UpstreamUnavailable
from jeshkit.security import Principal
from payments.models import UNSETTLED, Payment
from payments.providers import PaymentProviders, ProviderError, ProviderRefused
from payments.service.settle import flag, lock_payment, settle

log = logging.getLogger("payments.service")

MAX_BACKOFF_SECONDS = 600.0


# Whether the money job can have anything to do: an unsettled payment (a queued push, one to reconcile, a card order),
# a refund on its way out or Paybill money not credited yet. Most runs find none: one statement then, instead of a
# transaction per sweep.
_MONEY_IN_FLIGHT = text(
    "SELECT EXISTS (SELECT FROM payments WHERE status = 'pending') "
    "OR EXISTS (SELECT FROM payments WHERE status = 'unknown') "
    "OR EXISTS (SELECT FROM refunds WHERE status IN ('approved', 'paying')) "
    "OR EXISTS (SELECT FROM paybill_payments WHERE status IN ('received', 'verified'))"
)


def money_in_flight(session_factory: sessionmaker[Session]) -> bool:
    """False when no payment is unsettled and no refund approved or being paid (then every sweep would find
    nothing)."""
    with session_factory() as session, autocommit(session) as connection:  # one statement, no transaction
        return bool(connection.execute(_MONEY_IN_FLIGHT).scalar())


def reconcile_pending_payments(
    *,
    session_factory: sessionmaker[Session],
    providers: PaymentProviders,
    settle_after_seconds: float,
    retry_after_seconds: float,
    batch_size: int,
    max_attempts: int,
) -> int:
    """Settle what is due: pushes pending past settle_after_seconds, and callbacks Daraja did not confirm yet."""
    settled = 0
    for _ in range(batch_size):
        with session_factory() as session:
            payment = session.scalars(
                select(Payment)
                .where(
                    Payment.status == "pending",
                    Payment.push_sent_at.is_not(None),
                    or_(
                        Payment.created_at <= func.now() - timedelta(seconds=settle_after_seconds),
                        Payment.next_check_at.is_not(None),  # a callback Daraja could not confirm yet
                    ),
                    or_(Payment.next_check_at.is_(None), Payment.next_check_at <= func.now()),
                )
                .order_by(Payment.next_check_at.asc().nulls_first(), Payment.id)
                .limit(1)
                .with_for_update(skip_locked=True)  # replicas share the work, never the same row
            ).first()
            if payment is None:
                break
            if payment.check_attempts >= max_attempts:
                payment.status = "unknown"
                payment.next_check_at = None
                flag(payment, f"no final answer from M-PESA after {payment.check_attempts} checks; parked as unknown")
                session.commit()
                continue
            payment.check_attempts += 1
            backoff = min(retry_after_seconds * 2 ** min(payment.check_attempts - 1, 10), MAX_BACKOFF_SECONDS)
            payment.next_check_at = datetime.now(UTC) + timedelta(seconds=backoff)  # also a lease on the row
            payment_id, reference, method = payment.id, payment.checkout_request_id, payment.method
            session.commit()
            if reference is None:
                continue  # Daraja's answer never came: only the push's callback (by its token) can tell
            try:
                settlement = providers.get(method).check(reference=reference)  # no transaction open
            except ProviderRefused as exc:
                log.warning("cannot settle payment %s yet: %s", payment_id, exc.message)
                continue
            except ProviderError as exc:
                log.warning("reconciliation paused, M-PESA unavailable: %s", exc.message)
                break
            if settlement is None:
                continue
            payment = lock_payment(session, payment_id)
            if payment is not None and payment.status in ("pending", "unknown"):
                settle(session, payment, settlement)
                settled += 1
            session.commit()
    return settled


def requery_unknown_payment(
    *, session: Session, providers: PaymentProviders, admin: Principal, payment_id: int
) -> Payment:
    """An admin's "ask again now" for a payment parked as `unknown`: the provider's status query, with no transaction
    open; its final word settles the payment (a failure frees the booking for a new attempt), "still processing"
    leaves it `unknown`. Lock -> decide -> commit -> query -> lock again -> apply."""
    payment = lock_payment(session, payment_id)
    if payment is None:
        raise NotFound("Payment not found")
    if payment.status != "unknown":
        raise Conflict(f"Payment is {payment.status}, not unknown")
    if payment.checkout_request_id is None:
        raise Conflict("The provider never gave this payment a reference to ask about: only its callback can settle it")
    reference, method = payment.checkout_request_id, payment.method
    payment.check_attempts += 1
    session.commit()
    try:
        settlement = providers.get(method).check(reference=reference)  # no transaction open
    except ProviderError as exc:
        raise UpstreamUnavailable(f"The payment provider could not be asked: {exc.message}", 502) from None
    payment = lock_payment(session, payment_id)
    assert payment is not None
    if settlement is None:
        log.info("payment %s re-queried by an admin: still being processed", payment_id)
    elif payment.status in UNSETTLED:
        settle(session, payment, settlement)
        log.info("payment %s re-queried by an admin: now %s", payment_id, payment.status)
    audit.record(session, admin, "payment.requeried", f"payment:{payment_id}", {"status": payment.status})
    session.commit()
    return payment
