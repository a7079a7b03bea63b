"""Refunds paid: raised by the events of refunds_owed, or made of unmatched money here; approved by an admin and
paid back by M-PESA B2C, Pesapal's refund or at the cash desk: `required -> approved -> paying -> paid | failed`.

The OriginatorConversationID is ours and unique per payout: sending it again never pays twice, so a payout whose
outcome is unsure is re-sent with the same one; a new one is made only once M-PESA said the last did not pay.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from jeshkit import audit, outbox
from jeshkit.errors import Conflict, NotFound, UpstreamUnavailable
from jeshkit.security import Principal
from payments.daraja_wire import parse_b2c_result, parse_b2c_timeout, parse_body
from payments.models import APPLIED_WHEN_TIED, Payment, Refund, Unmatched
from payments.pesapal import REVERSED
from payments.providers import PaymentProviders, ProviderError, ProviderUncertain
from payments.service.drawer import check_drawer_holds
from payments.service.settle import SET_LOCK_TIMEOUT, lease_next
from payments.settings import new_callback_token

log = logging.getLogger("payments.service")

MAX_PAYOUT_ATTEMPTS = 5
# Unmatched money that can be refunded, by where it came from: the provider that pays it back.
UNMATCHED_METHODS = {"stk_callback": "mpesa", "pesapal_ipn": "card", "paybill": "mpesa"}


def refund_unmatched(
    *, session: Session, providers: PaymentProviders, unmatched_id: int, admin: Principal
) -> Refund:
    """Turn money that settles no payment into a refund (admin), once its provider confirms it really was paid
    (STK Push Query for M-PESA, GetTransactionStatus for a Pesapal order; Paybill money was confirmed by Transaction
    Status before it was kept as unmatched): lock -> decide -> commit -> query ->
    lock again -> apply. M-PESA money is paid back by B2C to the phone that paid, card money by Pesapal's refund."""
    money = session.get(Unmatched, unmatched_id)
    if money is None:
        raise NotFound("Unmatched payment not found")
    existing = session.scalar(select(Refund.id).where(Refund.unmatched_id == unmatched_id))
    if existing is not None:
        raise Conflict("This money already has a refund")
    method = UNMATCHED_METHODS.get(money.source)
    if method is None or money.result_code != 0 or not money.amount or not money.reference:
        raise Conflict("Only a success callback with an amount can be refunded")
    _not_applied(money)
    if method == "mpesa" and not money.phone_number:
        raise Conflict("This money has no phone number to pay back")
    if method == "card" and not money.receipt:
        raise Conflict("This money has no Pesapal confirmation code to refund")
    reference, checked = money.reference, money.source == "paybill"  # Transaction Status confirmed Paybill money
    session.rollback()
    provider = providers.get(method)
    try:
        settlement = None if checked else provider.check(reference=reference)  # no transaction open
    except ProviderError as exc:
        raise UpstreamUnavailable(f"{provider.name} could not confirm this payment: {exc.message}", 502) from None
    if not checked and (settlement is None or not settlement.succeeded):
        raise Conflict(f"{provider.name} does not confirm that this payment succeeded")
    money = session.get(Unmatched, unmatched_id, with_for_update=True, populate_existing=True)
    assert money is not None
    _not_applied(money)  # again under the lock: applied or assigned while Daraja was asked
    created = session.execute(
        insert(Refund)
        .values(
            unmatched_id=unmatched_id, booking_id=money.booking_id, amount=money.amount or 0, status="required",
            reason="money that matched no payment", method=method, phone_number=money.phone_number,
        )
        .on_conflict_do_nothing()
        .returning(Refund.id)
    ).first()
    if created is not None:
        audit.record(session, admin, "unmatched.refund_raised", f"refund:{created[0]}",
                     {"unmatched_id": unmatched_id, "amount": money.amount})
    session.commit()
    if created is None:
        raise Conflict("This money already has a refund")
    return _reload(session, created[0])


def _not_applied(money: Unmatched) -> None:
    """Conflict when the money has paid something since it was kept: a callback that came before Daraja's answer,
    applied to its payment once that was recorded, or Paybill money an operator assigned to an account."""
    if money.payment_id is not None and money.source in APPLIED_WHEN_TIED:
        raise Conflict("This money was assigned to an account" if money.source == "paybill"
                       else "This money was applied to its payment")


def card_order_of(session: Session, refund: Refund) -> tuple[str | None, str | None]:
    """The Pesapal order a card refund pays back (its OrderTrackingId) and the payment's confirmation code: the
    payment's, or for unmatched money what its IPN's status query told."""
    if refund.payment_id is not None:
        row = session.execute(
            select(Payment.checkout_request_id, Payment.receipt).where(Payment.id == refund.payment_id)
        ).first()
    elif refund.unmatched_id is not None:
        row = session.execute(
            select(Unmatched.reference, Unmatched.receipt).where(Unmatched.id == refund.unmatched_id)
        ).first()
    else:
        row = None
    return (row[0], row[1]) if row is not None else (None, None)


# --- paying -------------------------------------------------------------------------------------------
def approve_refund(*, session: Session, providers: PaymentProviders, admin: Principal, refund_id: int) -> Refund:
    """Pay a refund back to the phone that paid (lock -> decide -> commit -> B2C -> lock -> apply); a refund of cash
    is the operator saying they handed it back, paid at once."""
    session.execute(SET_LOCK_TIMEOUT)
    refund = _lock(session, refund_id)
    if refund is None:
        raise NotFound("Refund not found")
    if refund.status not in ("required", "failed"):
        raise Conflict(f"Refund is {refund.status}, not awaiting approval")
    if refund.method == "mpesa" and not refund.phone_number:
        raise Conflict("This refund has no phone number to pay")
    if refund.method == "cash":  # the operator handed the cash back at the desk: paid now, no provider
        _paid_at_desk(session, refund, admin)
        return _reload(session, refund_id)
    refund.status = "approved"
    refund.approved_by = admin.id
    refund.failure_reason = None
    refund.originator_conversation_id = refund.originator_conversation_id or f"JESH-R{refund.id}-{uuid.uuid4().hex}"
    refund.result_token = refund.result_token or new_callback_token()
    audit.record(session, admin, "refund.approved", f"refund:{refund.id}",
                 {"amount": refund.amount, "method": refund.method, "booking_id": refund.booking_id})
    session.commit()
    _send(session, providers, refund.id)
    return _reload(session, refund_id)


def _paid_at_desk(session: Session, refund: Refund, admin: Principal) -> None:
    check_drawer_holds(session, refund.amount, "hand back")  # put in float first
    refund.status, refund.approved_by, refund.failure_reason = "paid", admin.id, None
    refund.receipt, refund.paid_at = f"CASH-R{refund.id}", datetime.now(UTC)
    audit.record(session, admin, "refund.paid_in_cash", f"refund:{refund.id}",
                 {"amount": refund.amount, "booking_id": refund.booking_id, "receipt": refund.receipt})
    _stage(session, refund, "RefundPaid", receipt=refund.receipt)
    session.commit()
    log.info("refund %s paid back in cash by user %s", refund.id, admin.id)


def retry_unsure_payouts(
    *, session_factory: sessionmaker[Session], providers: PaymentProviders, batch_size: int
) -> int:
    """Re-send approved payouts whose outcome is unsure, with their same OriginatorConversationID."""
    sent = 0
    for _ in range(batch_size):
        with session_factory() as session:
            refund = lease_next(session, Refund, Refund.status == "approved", idle=timedelta(seconds=30))
            if refund is None:
                break
            refund_id = refund.id
            session.commit()
            _send(session, providers, refund_id)
            sent += 1
    return sent


def _send(session: Session, providers: PaymentProviders, refund_id: int) -> None:
    refund = session.get(Refund, refund_id)
    assert refund is not None
    method, amount, payee = refund.method, refund.amount, refund.phone_number or ""
    order = None
    if method == "card":  # Pesapal refunds the card (or wallet) that paid, named by its confirmation code
        order, code = card_order_of(session, refund)
        payee = code or ""
    resent = refund.attempts > 0  # an earlier request's outcome was unsure
    originator, token = refund.originator_conversation_id or "", refund.result_token or ""
    session.rollback()  # nothing may hold a connection while Daraja is asked
    if resent and order is not None and _card_reversed_already(session, providers, refund_id, order, payee):
        return
    provider = providers.get(method)
    error: ProviderError | None = None
    conversation_id = None
    try:
        started = provider.pay_out(
            amount=amount, payee=payee, originator_id=originator, result_token=token,
            remarks=f"Jesh Storage refund {refund_id}",
        )
        conversation_id = started.conversation_id
    except ProviderError as exc:
        error = exc
    refund = _lock(session, refund_id)
    assert refund is not None
    refund.attempts += 1
    if error is None:
        if refund.status == "approved":  # its result may have come already
            refund.status = "paying"
        refund.conversation_id = refund.conversation_id or conversation_id
    elif isinstance(error, ProviderUncertain) and refund.attempts < MAX_PAYOUT_ATTEMPTS:
        log.warning("refund %s: B2C outcome unsure (%s); re-sent later with the same id", refund_id, error.message)
    elif refund.status == "approved":
        # A new id only when no request with this one can have paid: a refusal of the first request. A re-sent one
        # refused (or unsure again) may follow a first that M-PESA took: approved again, the same id goes out, and
        # M-PESA never pays it twice; a new id would.
        unsure = isinstance(error, ProviderUncertain) or resent
        _failed(session, refund, f"{provider.name} did not take the refund: {error.message}", renew_id=not unsure)
    session.commit()


def _card_reversed_already(
    session: Session, providers: PaymentProviders, refund_id: int, order: str, confirmation_code: str
) -> bool:
    """Before a card refund is requested again: Pesapal takes one request per payment and refuses any later one
    ("Multiple refunds are not allowed"), so the order is asked about first (no transaction open). REVERSED: the
    unanswered request was taken and paid; the refund is paid. True when nothing is to be sent now (also when
    Pesapal cannot be asked: the next pass asks again)."""
    try:
        settlement = providers.get("card").check(reference=order)
    except ProviderError as exc:
        log.warning("card refund %s not re-sent: Pesapal cannot be asked about it (%s)", refund_id, exc.message)
        return True
    if settlement is None or settlement.result_code != REVERSED:
        return False
    refund = _lock(session, refund_id)
    if refund is not None and refund.status == "approved":
        card_refund_paid(session, refund, confirmation_code)
    session.commit()
    return True


def card_refund_paid(session: Session, refund: Refund, confirmation_code: str | None) -> None:
    """Pesapal shows the order REVERSED: the card refund asked for it is paid."""
    refund.status = "paid"
    refund.receipt = confirmation_code or refund.conversation_id or refund.originator_conversation_id
    refund.paid_at = datetime.now(UTC)
    refund.failure_reason = None
    _stage(session, refund, "RefundPaid", receipt=refund.receipt or f"R{refund.id}")
    log.info("card refund %s paid (Pesapal order reversed)", refund.id)


def process_b2c_result(*, session: Session, raw: bytes, token: str) -> None:
    """The payout's result at its ResultURL: paid with a receipt, or failed with M-PESA's reason."""
    result = parse_body(raw, parse_b2c_result)
    if result is None:
        log.warning("ignored a B2C result that is not one (%d bytes)", len(raw))
        return
    refund = _by_token(session, token, result.originator_conversation_id)
    if refund is None or refund.status == "paid" or (refund.status == "failed" and result.result_code != 0):
        session.rollback()  # a late success still counts: that money did leave
        return
    refund.conversation_id = refund.conversation_id or result.conversation_id
    if result.result_code == 0:
        refund.status = "paid"
        refund.receipt = result.receipt or result.conversation_id or refund.originator_conversation_id
        refund.paid_at = datetime.now(UTC)
        _stage(session, refund, "RefundPaid", receipt=refund.receipt)
        log.info("refund %s paid (%s)", refund.id, refund.receipt)
    else:
        _failed(session, refund, result.result_desc or f"M-PESA result {result.result_code}", renew_id=True)
    session.commit()


def process_b2c_timeout(*, session: Session, raw: bytes, token: str) -> None:
    """The payout timed out in M-PESA's queue: not paid; re-sent later with the same id (never pays twice)."""
    originator = parse_body(raw, parse_b2c_timeout)
    refund = _by_token(session, token, originator)
    if refund is None or refund.status not in ("approved", "paying"):
        session.rollback()
        return
    if refund.attempts >= MAX_PAYOUT_ATTEMPTS:
        _failed(session, refund, "the refund timed out in M-PESA's queue", renew_id=False)
    else:
        refund.status = "approved"
        refund.updated_at = datetime.now(UTC) - timedelta(seconds=30)  # due for a re-send now
    session.commit()


def _failed(session: Session, refund: Refund, reason: str, *, renew_id: bool) -> None:
    refund.status = "failed"
    refund.failure_reason = reason[:500]
    if renew_id:
        refund.originator_conversation_id = None  # M-PESA said it did not pay: the next approval is a new payout
    _stage(session, refund, "RefundFailed", reason=refund.failure_reason)
    log.warning("refund %s failed: %s", refund.id, reason)


def _stage(session: Session, refund: Refund, event_type: str, **extra: Any) -> None:
    """RefundPaid / RefundFailed, for refunds of a known booking and customer (unmatched money has neither)."""
    if refund.booking_id is None or refund.user_id is None:
        return
    outbox.stage(session, event_type, {**_event_data(refund), **extra})


def _event_data(refund: Refund) -> dict[str, Any]:
    return {
        "refund_id": refund.id,
        "booking_id": refund.booking_id,
        "invoice_id": refund.invoice_id,
        "payment_id": refund.payment_id,
        "user_id": refund.user_id,
        "amount": refund.amount,
        "method": refund.method,
    }


def _by_token(session: Session, token: str, originator: str | None) -> Refund | None:
    refund = session.scalars(select(Refund).where(Refund.result_token == token).with_for_update()).first()
    if refund is None or (originator is not None and originator != refund.originator_conversation_id):
        log.warning("ignored a B2C result for an unknown refund")
        return None
    return refund


def _lock(session: Session, refund_id: int) -> Refund | None:
    return session.scalars(
        select(Refund).where(Refund.id == refund_id).with_for_update().execution_options(populate_existing=True)
    ).first()


def _reload(session: Session, refund_id: int) -> Refund:
    refund = session.get(Refund, refund_id, populate_existing=True)
    session.rollback()
    assert refund is not None
    return refund
