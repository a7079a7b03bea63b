"""Daraja's STK callbacks: matched by CheckoutRequestID or by the push's own token, trusted only once STK Push
Query agrees, and never with a transaction open across that query."""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from payments.daraja_wire import StkCallback, normalize_phone, parse_stk_callback, whole_shillings
from payments.models import UNSETTLED, Payment, Unmatched
from payments.providers import PaymentProvider, PaymentProviders, ProviderError, Settlement
from payments.service.settle import SET_LOCK_TIMEOUT, flag, lock_payment, settle, succeeded

log = logging.getLogger("payments.service")

# An STK callback settles an M-PESA push we sent (every push has its callback token) and nothing else: a card
# order's OrderTrackingId, a cash payment's key or a Paybill payment's TransID (on the payer's SMS receipt), kept in
# the same column, is no CheckoutRequestID, and a callback naming one is money no payment claims.
_STK = and_(Payment.method == "mpesa", Payment.callback_token.is_not(None))


def process_stk_callback(
    *, session: Session, providers: PaymentProviders, raw: bytes, token: str | None, shared_token: str | None
) -> None:
    """Apply a callback that arrived on `/hooks/stk/<token>` (token None: the compat path).

    The token must be the push's own, or the operator's MPESA_CALLBACK_TOKEN (`shared_token`). A callback that
    matches no payment is kept as unmatched money, never dropped.
    """
    try:
        body = json.loads(raw)
        callback = parse_stk_callback(body)
    except (ValueError, RecursionError):
        callback = None
    if callback is None:
        log.warning("ignored a callback that is not an stkCallback (%d bytes)", len(raw))
        return
    shared = token is None or (shared_token is not None and secrets.compare_digest(token, shared_token))
    if callback.result_code == 0 and _usual_success(session, providers, callback, token, shared):
        return
    session.execute(SET_LOCK_TIMEOUT)
    payment = session.scalars(
        select(Payment).where(_STK, Payment.checkout_request_id == callback.checkout_request_id).with_for_update()
    ).first()
    if payment is None and token is not None and not shared:
        # The push's own token: its answer (with the CheckoutRequestID) may not have been recorded yet.
        payment = session.scalars(
            select(Payment).where(_STK, Payment.callback_token == token).with_for_update()
        ).first()
        if payment is not None and payment.checkout_request_id is None:
            payment.checkout_request_id = callback.checkout_request_id
            log.info("payment %s learnt its CheckoutRequestID from its callback", payment.id)
        elif payment is not None and payment.checkout_request_id != callback.checkout_request_id:
            # (equal: Daraja's answer was recorded between the two look-ups)
            log.warning(
                "ignored a callback for %r on the token of payment %s", callback.checkout_request_id, payment.id
            )
            session.rollback()
            return
    if payment is None:
        if token is not None and not shared:
            log.warning("ignored a callback for %r with an unknown token", callback.checkout_request_id)
            session.rollback()
            return
        keep_unmatched(session, callback, body, reason="no payment has this CheckoutRequestID")
        session.commit()
        # Daraja's answer may have been recorded meanwhile (after it looked for early callbacks): apply it now.
        late = session.scalar(
            select(Payment.id).where(_STK, Payment.checkout_request_id == callback.checkout_request_id)
        )
        if late is None:
            session.rollback()
            return
        session.execute(
            update(Unmatched)
            .where(Unmatched.reference == callback.checkout_request_id, Unmatched.payment_id.is_(None))
            .values(payment_id=late)
        )
        session.commit()
        method = session.scalar(select(Payment.method).where(Payment.id == late))
        session.rollback()
        apply_stk_callback(session, providers.get(method or "mpesa"), body, late)
        return
    if not _token_accepted(token, shared, payment.callback_token):
        log.warning("ignored a callback for payment %s with a wrong token", payment.id)
        session.rollback()
        return
    _apply_locked(session, providers.get(payment.method), callback, payment)  # the lock taken above: no second one


def _token_accepted(token: str | None, shared: bool, expected: str | None) -> bool:
    """The callback came on the push's own token, or on the shared one (or the compat path), or the payment has
    no token of its own."""
    return shared or token is None or expected is None or secrets.compare_digest(token, expected)


# Another payment that already has the callback's receipt (`{payment}`: the payment's id): a receipt is one sum
# of money, and it settles one payment.
_OTHER_RECEIPT_OWNER = (
    "(SELECT other.id FROM payments other WHERE other.receipt = :receipt AND other.id <> {payment} LIMIT 1)"
)
_RECEIPT_OWNER = text("SELECT " + _OTHER_RECEIPT_OWNER.format(payment=":payment_id"))

# A callback counted on the payment of its CheckoutRequestID (row-locked by the UPDATE), with what the usual case
# needs to be recognised, the payment that already has the callback's receipt included.
_NOTE_CALLBACK = text(
    "UPDATE payments SET callbacks_received = callbacks_received + 1, last_callback_at = :now, updated_at = now() "
    "WHERE checkout_request_id = :reference AND method = 'mpesa' AND callback_token IS NOT NULL "
    "RETURNING id, status, amount, method, callback_token, "
    + _OTHER_RECEIPT_OWNER.format(payment="payments.id") + " AS receipt_owner"
)


def _usual_success(
    session: Session, providers: PaymentProviders, callback: StkCallback, token: str | None, shared: bool
) -> bool:
    """The usual callback in two statements: a success for an unsettled payment found by its CheckoutRequestID, on
    that push's token (or the shared one), for the amount charged, with a receipt no other payment has; counted and
    committed, then confirmed with STK Push Query and settled as the general path would. False, with nothing done,
    for anything else (the general path decides, flags and records it)."""
    session.execute(SET_LOCK_TIMEOUT)
    now = datetime.now(UTC)
    row = session.execute(
        _NOTE_CALLBACK, {"now": now, "reference": callback.checkout_request_id, "receipt": callback.receipt}
    ).first()
    usual = (  # the general path's rules, on what the UPDATE returned
        row is not None
        and row.status in UNSETTLED
        and _success_problem(row.amount, callback, row.receipt_owner) is None
        and _token_accepted(token, shared, row.callback_token)
    )
    if not usual or row is None:
        session.rollback()
        return False
    session.commit()
    _confirm_and_apply(session, providers.get(row.method), callback, row.id, callback.checkout_request_id, now)
    return True


def apply_stk_callback(session: Session, provider: PaymentProvider, body: Any, payment_id: int) -> None:
    """Lock -> decide -> commit -> STK Push Query -> lock again -> apply."""
    callback = parse_stk_callback(body)
    if callback is None:
        return
    payment = lock_payment(session, payment_id)
    if payment is None:
        session.rollback()
        return
    _apply_locked(session, provider, callback, payment)


def _apply_locked(session: Session, provider: PaymentProvider, callback: StkCallback, locked: Payment) -> None:
    """apply_stk_callback from its decision on: `locked` is row-locked in the session's open transaction."""
    payment: Payment | None = locked
    assert payment is not None
    payment_id = payment.id
    now = datetime.now(UTC)
    payment.callbacks_received += 1
    payment.last_callback_at = now
    if not _needs_query(session, payment, callback):
        session.commit()
        return
    reference = payment.checkout_request_id or callback.checkout_request_id
    session.commit()
    _confirm_and_apply(session, provider, callback, payment_id, reference, now)


def _confirm_and_apply(
    session: Session, provider: PaymentProvider, callback: StkCallback, payment_id: int, reference: str,
    now: datetime,
) -> None:
    """STK Push Query (no transaction open), then lock again and apply what it says."""
    try:
        settlement = provider.check(reference=reference)  # no transaction open
    except ProviderError as exc:
        log.warning("cannot confirm the callback of payment %s now: %s", payment_id, exc.message)
        settlement = None

    trusted = settlement is not None and settlement.succeeded and callback.result_code == 0
    if trusted and settlement is not None and _confirm(
        session, payment_id, settlement.result_desc, callback.receipt, callback.transaction_date
    ):
        return
    payment = lock_payment(session, payment_id)
    if payment is None:
        session.rollback()
        return
    if settlement is not None and settlement.result_code != callback.result_code:
        flag(payment, f"a callback said {callback.result_code} but Daraja's query says {settlement.result_code}")
    if payment.status == "failed" and trusted:
        # An earlier query said it failed (1037, say); the payer's success came after, and Daraja now confirms it:
        # the money came in. It pays as any success (booking confirms, or refunds what it cannot use).
        log.warning("payment %s, failed, was paid after all (callback and Daraja's query say 0)", payment_id)
    elif payment.status not in UNSETTLED:
        if payment.status == "success" and callback.result_code == 0 and payment.receipt is None:
            payment.receipt = callback.receipt  # settled meanwhile by a query, which carries no receipt
        session.commit()
        return
    if settlement is None:
        # Unconfirmed, success or failure alike: stay pending; reconciliation asks Daraja again soon.
        if callback.result_code != 0:
            payment.reported_result_code = callback.result_code
        payment.next_check_at = now
        log.info("callback of payment %s (result %s) not confirmed by Daraja yet", payment_id, callback.result_code)
        session.commit()
        return
    settle(
        session,
        payment,
        Settlement(settlement.result_code, settlement.result_desc),
        receipt=callback.receipt if trusted else None,
        paid_at=callback.transaction_date if trusted else None,
    )
    session.commit()


# The confirmed success of an unsettled payment in one statement (the usual end of a callback): what settle() does
# for it, with the row lock the UPDATE takes; a payment settled meanwhile matches nothing.
_CONFIRM = text(
    "UPDATE payments SET status = 'success', result_code = 0, result_desc = :result_desc, "
    "receipt = COALESCE(receipt, :receipt), paid_at = :paid_at, settled_at = :now, next_check_at = NULL, "
    f"updated_at = now() WHERE id = :payment_id AND status IN ({', '.join(repr(s) for s in UNSETTLED)}) "
    "RETURNING booking_id, invoice_id, user_id, amount, method, receipt, checkout_request_id"
)


def _confirm(
    session: Session, payment_id: int, result_desc: str, receipt: str | None, paid_at: datetime | None
) -> bool:
    """Settle an unsettled payment as paid (the callback said success and Daraja's query agrees) and stage
    PaymentSucceeded, committed; False (nothing done) when it is no longer unsettled."""
    now = datetime.now(UTC)
    paid_at = paid_at or now
    row = session.execute(
        _CONFIRM, {"payment_id": payment_id, "result_desc": result_desc, "receipt": receipt, "paid_at": paid_at,
                   "now": now},
    ).first()
    if row is None:
        session.rollback()
        return False
    succeeded(session, payment_id=payment_id, booking_id=row.booking_id, invoice_id=row.invoice_id,
              user_id=row.user_id, amount=row.amount, method=row.method, receipt=row.receipt,
              checkout_request_id=row.checkout_request_id, paid_at=paid_at)
    session.commit()
    return True


def _needs_query(session: Session, payment: Payment, callback: StkCallback) -> bool:
    """Decide under the lock whether Daraja must be asked; records what needs no query."""
    if callback.result_code == 0:
        problem = _untrustworthy_success(session, payment, callback)
        if problem:
            flag(payment, problem)
            return False
        if payment.status == "success":  # a repeat: at most it brings the receipt a query could not
            if payment.receipt is None and callback.receipt:
                payment.receipt = callback.receipt
            return False
        return True
    if payment.status == "success":
        flag(payment, f"a callback reported {callback.result_code} ({callback.result_desc}) after confirmation")
        return False
    return payment.status in UNSETTLED


def _untrustworthy_success(session: Session, payment: Payment, callback: StkCallback) -> str | None:
    """Why a success callback cannot be believed (wrong amount, reused receipt), or None."""
    owner = None
    if callback.receipt:
        owner = session.execute(_RECEIPT_OWNER, {"receipt": callback.receipt, "payment_id": payment.id}).scalar()
    return _success_problem(payment.amount, callback, owner)


def _success_problem(charged: int, callback: StkCallback, receipt_owner: int | None) -> str | None:
    """The rule for a success callback of a payment of `charged` KES, given the other payment that already has its
    receipt (None: none has)."""
    if callback.amount is None:
        return "a success callback came without an Amount"
    if callback.amount != Decimal(charged):
        return f"a success callback claimed {callback.amount} KES but {charged} KES was charged"
    if receipt_owner is not None:
        return f"a success callback carried receipt {callback.receipt} of payment {receipt_owner}"
    return None


def keep_unmatched(session: Session, callback: StkCallback, body: Any, *, reason: str) -> None:
    """Store a callback no payment claims (money that came in must never be dropped). Does not commit."""
    known = session.scalar(
        select(Unmatched.id).where(
            Unmatched.reference == callback.checkout_request_id, Unmatched.result_code == callback.result_code
        )
    )
    if known is not None:
        return  # a repeat of a callback already kept
    log.warning("callback for an unknown CheckoutRequestID %r kept as unmatched", callback.checkout_request_id)
    statement = insert(Unmatched).values(
        source="stk_callback",
        reference=callback.checkout_request_id,
        amount=whole_shillings(callback.amount),
        receipt=callback.receipt,
        phone_number=normalize_phone(callback.phone_number) or callback.phone_number,
        result_code=callback.result_code,
        reason=reason,
        payload=body,
    )
    session.execute(statement.on_conflict_do_nothing())  # the same receipt twice is one sum of money
