"""Card and Airtel Money payments through Pesapal: the same flow as M-PESA (intent committed first, no outside call
with a transaction or lock open), and nothing trusted until GetTransactionStatus says so.

Pesapal's IPN (and the browser's return) only say "look at order X": the order is found by its OrderTrackingId, which
we recorded from SubmitOrderRequest's answer, and its outcome is asked of Pesapal. A completed order settles only with
the charged amount in KES; REVERSED after success pays the card refund asked for it, or else flags the payment for an
admin (a chargeback).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from jeshkit.errors import UpstreamUnavailable
from jeshkit.peers import Peer
from jeshkit.security import Principal
from payments.daraja_wire import normalize_phone, whole_shillings
from payments.models import UNSETTLED, Payment, Refund, Unmatched
from payments.pesapal import ABANDONED, REVERSED, Customer, PesapalProvider
from payments.pesapal import reason_for as card_reason
from payments.providers import ProviderError, Settlement
from payments.service.initiate import initiate_invoice_payment, initiate_payment
from payments.service.refunds import card_order_of, card_refund_paid
from payments.service.settle import flag, lease_next, lock_payment, settle

log = logging.getLogger("payments.service")

# What an order Pesapal says nobody has paid comes to, when it no longer holds its booking or invoice.
NOT_PAID = Settlement(ABANDONED, "Not paid", reason=card_reason(ABANDONED, None))


def customer_of(http: httpx.Client, *, auth_url: str, authorization: str) -> Customer:
    """The caller's email, phone and name (Pesapal's billing_address), from auth's profile with their own token."""
    try:
        response = http.get(f"{auth_url}/api/auth/profile", headers={"Authorization": authorization})
        profile = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        profile = None
    if not isinstance(profile, dict) or not (profile.get("email") or profile.get("phone")):
        raise UpstreamUnavailable("The auth service is unavailable, please retry", 503)
    return Customer(email=profile.get("email") or None, phone=normalize_phone(profile.get("phone")),
                    name=profile.get("name") or None)


def initiate_card_payment(
    *,
    session: Session,
    http: httpx.Client,
    provider: PesapalProvider,
    customer: Customer,
    user: Principal,
    booking_id: int | None,
    invoice_id: int | None,
    booking_url: str,
    billing_url: str | None,
    min_hold_seconds: float,
    release_card_orders: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """Make a Pesapal order for a booking's total_price or an invoice's balance; the customer pays at redirect_url."""
    checkout = provider.for_customer(customer)
    payer = customer.phone or ""
    if invoice_id is not None:
        billing = Peer("billing", billing_url, http) if billing_url else None
        return initiate_invoice_payment(session=session, billing=billing, provider=checkout, user=user,
                                        invoice_id=invoice_id, payer=payer, release_card_orders=release_card_orders)
    assert booking_id is not None
    return initiate_payment(session=session, booking_service=Peer("booking", booking_url, http), provider=checkout,
                            user=user, booking_id=booking_id, payer=payer, amount=None, account_reference=None,
                            min_hold_seconds=min_hold_seconds, release_card_orders=release_card_orders)


def process_pesapal_notification(
    *, session: Session, provider: PesapalProvider, order_tracking_id: str, merchant_reference: str | None
) -> dict[str, Any] | None:
    """An IPN or the browser's return for an order: ask Pesapal, apply what it says. Returns the payment's state,
    or None when Pesapal could not be asked (reconciliation will). Never trusts anything but Pesapal's answer."""
    payment = session.scalars(
        select(Payment).where(Payment.checkout_request_id == order_tracking_id, Payment.method == "card")
        .with_for_update()
    ).first()
    if payment is None:
        session.rollback()
        return _keep_if_money(session, provider, order_tracking_id, merchant_reference)
    payment.callbacks_received += 1
    payment.last_callback_at = datetime.now(UTC)
    payment_id = payment.id
    session.commit()
    try:
        settlement = provider.check(reference=order_tracking_id)  # no transaction open
    except ProviderError as exc:
        log.warning("cannot ask Pesapal about payment %s now: %s", payment_id, exc.message)
        payment = lock_payment(session, payment_id)
        if payment is not None and payment.status == "pending":
            payment.next_check_at = datetime.now(UTC)  # reconciliation asks again soon
        session.commit()
        return None
    return apply_card_settlement(session, payment_id, settlement)


def apply_card_settlement(session: Session, payment_id: int, settlement: Settlement | None) -> dict[str, Any]:
    payment = lock_payment(session, payment_id)
    assert payment is not None
    if settlement is not None:
        if settlement.result_code == REVERSED and payment.status == "success":
            _reversed_after_success(session, payment)
        else:
            settle(session, payment, settlement)
    state = {"payment_id": payment.id, "booking_id": payment.booking_id, "invoice_id": payment.invoice_id,
             "status": "pending" if payment.status == "unknown" else payment.status}
    session.commit()
    return state


# A card refund the order's reversal pays: one asked for, or one recorded as failed because Pesapal refused its
# request again after the first request's answer was lost (it takes one request per payment).
_REVERSAL_PAYS = ("approved", "paying", "failed")


def _reversed_after_success(session: Session, payment: Payment) -> None:
    """REVERSED after success: the refund we asked for has been paid, or (none asked) a chargeback to flag. Told
    again once that refund is paid (an IPN repeated, or the status asked before the IPN came): nothing to do."""
    refund = session.scalars(
        select(Refund).where(Refund.payment_id == payment.id, Refund.method == "card",
                             Refund.status.in_((*_REVERSAL_PAYS, "paid"))).with_for_update()
    ).first()
    if refund is not None and refund.status == "paid":
        return
    if refund is None:
        if "REVERSED" not in (payment.discrepancy or ""):
            flag(payment, "Pesapal reports this payment REVERSED after it was confirmed (no refund was asked): "
                          "the money was taken back")
        return
    card_refund_paid(session, refund, payment.receipt)


def _unmatched_refund_reversed(session: Session, order_tracking_id: str) -> bool:
    """A card refund of unmatched money whose order Pesapal now shows REVERSED: paid. Commits; False if none."""
    refund = session.scalars(
        select(Refund).join(Unmatched, Unmatched.id == Refund.unmatched_id)
        .where(Unmatched.reference == order_tracking_id, Refund.method == "card",
               Refund.status.in_(_REVERSAL_PAYS))
        .with_for_update(of=Refund)
    ).first()
    if refund is None:
        session.rollback()
        return False
    card_refund_paid(session, refund, card_order_of(session, refund)[1])
    session.commit()
    return True


def _keep_if_money(
    session: Session, provider: PesapalProvider, order_tracking_id: str, merchant_reference: str | None
) -> dict[str, Any] | None:
    """An order no payment has: money only if Pesapal says it was paid; then it is kept as unmatched, once."""
    try:
        settlement = provider.check(reference=order_tracking_id)
    except ProviderError as exc:
        log.warning("cannot ask Pesapal about unknown order %r: %s", order_tracking_id, exc.message)
        return None
    if settlement is not None and settlement.result_code == REVERSED and _unmatched_refund_reversed(
        session, order_tracking_id
    ):
        return {}
    if settlement is None or not settlement.succeeded:
        log.warning("ignored a Pesapal notification for unknown order %r (nothing paid)", order_tracking_id)
        return {}
    known = session.scalar(select(Unmatched.id).where(Unmatched.reference == order_tracking_id))
    if known is None:
        session.execute(insert(Unmatched).values(
            source="pesapal_ipn", reference=order_tracking_id, receipt=settlement.receipt,
            amount=whole_shillings(settlement.amount),
            result_code=0, reason=f"no payment has this Pesapal order (merchant reference {merchant_reference})",
        ).on_conflict_do_nothing())
        log.warning("Pesapal order %r paid but unknown: kept as unmatched money", order_tracking_id)
    session.commit()
    return {}


def settle_card_refunds(*, session_factory: sessionmaker[Session], providers: Any, batch_size: int) -> int:
    """Card refunds Pesapal accepted whose IPN never came: paid once Pesapal shows the payment REVERSED."""
    done = 0
    for _ in range(batch_size):
        with session_factory() as session:
            refund = lease_next(session, Refund, Refund.method == "card", Refund.status == "paying",
                                idle=timedelta(seconds=30))
            if refund is None:
                break
            payment_id = refund.payment_id
            reference = card_order_of(session, refund)[0]
            session.commit()
            if reference is None:
                continue
            try:
                settlement = providers.get("card").check(reference=reference)
            except ProviderError as exc:
                log.warning("card refunds paused, Pesapal unavailable: %s", exc.message)
                break
            if settlement is not None and settlement.result_code == REVERSED:
                if payment_id is not None:
                    apply_card_settlement(session, payment_id, settlement)
                else:
                    _unmatched_refund_reversed(session, reference)
                done += 1
    return done


def release_unpaid_card_orders(
    *, session: Session, providers: Any, booking_id: int | None, invoice_id: int | None
) -> int:
    """Before a new payment of a booking (or an invoice), its card orders still open are asked about, with no
    transaction open: one Pesapal says nobody has paid no longer holds the booking. It is failed as abandoned at
    once, as the order timeout would half an hour later, so that a customer who left Pesapal's page can pay by
    M-PESA, or open a new card order, within the booking's hold. One paid after all is settled (the new payment is
    then refused as already paid). Pesapal unavailable: the orders stay open and the new payment is refused as in
    progress. Should the abandoned page still be paid, its IPN settles the order (a failed payment becomes a success)
    and the booking refunds the money it cannot use. Returns how many of them Pesapal said were paid."""
    of_it = (Payment.invoice_id == invoice_id) if invoice_id is not None else and_(
        Payment.booking_id == booking_id, Payment.invoice_id.is_(None))
    open_orders = session.execute(
        select(Payment.id, Payment.checkout_request_id).where(
            of_it, Payment.method == "card", Payment.status.in_(UNSETTLED), Payment.checkout_request_id.is_not(None))
    ).all()
    session.rollback()  # nothing held while Pesapal is asked
    paid = 0
    for payment_id, reference in open_orders:
        try:
            settlement = providers.get("card").check(reference=reference)
        except ProviderError as exc:
            log.warning("card order of payment %s not checked, Pesapal unavailable: %s", payment_id, exc.message)
            break
        payment = lock_payment(session, payment_id)
        if payment is not None and payment.status in UNSETTLED:
            settle(session, payment, settlement or NOT_PAID)
            paid += payment.status == "success"
            if settlement is None:
                log.info("card order of payment %s left unpaid: released for a new payment", payment_id)
        session.commit()
    return paid


def fail_abandoned_card_orders(
    *, session_factory: sessionmaker[Session], providers: Any, older_than_seconds: float, batch_size: int
) -> int:
    """A card order nobody paid long after it was made: failed, so the booking may be paid again. Pesapal is asked
    first; if the page is paid after all, its IPN still settles it (a success is never lost)."""
    done = 0
    for _ in range(batch_size):
        with session_factory() as session:
            payment = lease_next(
                session, Payment, Payment.method == "card", Payment.status.in_(("pending", "unknown")),
                Payment.checkout_request_id.is_not(None),
                Payment.created_at < datetime.now(UTC) - timedelta(seconds=older_than_seconds),
                idle=timedelta(seconds=30), order_by=Payment.id,
            )
            if payment is None:
                break
            payment_id, reference = payment.id, payment.checkout_request_id
            session.commit()
            try:
                settlement = providers.get("card").check(reference=reference)
            except ProviderError as exc:
                log.warning("abandoned card orders not checked, Pesapal unavailable: %s", exc.message)
                break
            apply_card_settlement(session, payment_id, settlement or NOT_PAID)
            done += 1
    return done
