"""Money customers send to the Paybill from their phones (M-PESA C2B), with an account number they type.

`JESH-42` pays booking 42 (its price exactly, like its STK prompt; a monthly rental's money goes to its invoices) and
`INV-000123` an invoice (any amount: billing puts it on the rental's open invoices, oldest first, the rest is credit).

M-PESA's confirmation is never trusted: it is kept (`received`, answered at once), then M-PESA's Transaction Status
query is asked about its receipt, with no transaction open. Only a `Completed` answer of the same amount makes it
`verified`; then it becomes a success payment of its booking or invoice (PaymentSucceeded, as any other payment) or,
when the account names nothing it can pay, unmatched money an operator refunds or assigns to the right account.
The validation request (sent only when Safaricom enabled external validation on the paybill) refuses an account
number that names nothing and a booking's wrong amount before any money moves.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from jeshkit import outbox
from jeshkit.errors import UpstreamUnavailable
from jeshkit.events.payments import PaymentUnmatched, UnmatchedReason
from jeshkit.peers import Peer
from payments.daraja_wire import parse_b2c_status, parse_body, parse_c2b, phone_of_party, whole_shillings
from payments.models import PaybillPayment, Payment, Unmatched
from payments.mpesa import MpesaProvider
from payments.providers import PaymentProviders, ProviderError
from payments.service.bookings import locked_booking
from payments.service.initiate import InternalInvoice
from payments.service.settle import lease_next, succeeded
from payments.settings import new_callback_token

log = logging.getLogger("payments.paybill")

ACCEPTED = {"ResultCode": "0", "ResultDesc": "Accepted"}
INVALID_ACCOUNT, INVALID_AMOUNT, INVALID_SHORTCODE, OTHER_ERROR = "C2B00012", "C2B00013", "C2B00015", "C2B00016"
# A receipt M-PESA says it does not know is rejected when it says so again after this many more questions (the
# first is asked at once, the others by the money job): four answers in all.
NOT_FOUND_LIMIT = 3
# A payment whose status result never comes is asked about this many times, then left for an operator.
MAX_CHECKS = 20
_ACCOUNT = re.compile(r"(INV|JESH)0*([1-9]\d{0,11})")


@dataclass(frozen=True)
class Peers:
    booking: Peer
    billing: Peer | None


@dataclass(frozen=True)
class Target:
    """What a Paybill payment pays: a booking (invoice_id None) or a rental's invoices."""

    booking_id: int
    user_id: int
    invoice_id: int | None
    account: str
    cancelled: bool = False  # a booking whose hold expired or that was cancelled (the Paybill takes it: see booking)


@dataclass(frozen=True)
class Miss:
    """Why an account number and amount pay nothing: the C2B result code that says so, the reason in words (for the
    operators), its kind (PaymentUnmatched's `reason`) and what the account number names, if anything."""

    code: str
    reason: str
    kind: UnmatchedReason = "unknown_account"
    booking_id: int | None = None
    invoice_id: int | None = None
    user_id: int | None = None
    price: int | None = None


def account_number(typed: str) -> str | None:
    """What a customer typed as the canonical account number (`JESH-42`, `INV-000123`), or None."""
    found = _ACCOUNT.fullmatch(re.sub(r"[^A-Z0-9]", "", typed.upper()))
    if found is None:
        return None
    prefix, number = found.groups()
    return f"INV-{int(number):06d}" if prefix == "INV" else f"JESH-{int(number)}"


def resolve(session: Session, peers: Peers, typed: str, amount: int) -> Target | Miss:
    """What `amount` paid with account `typed` pays. Asks billing and booking with no transaction open (the session's
    transaction is ended); raises UpstreamUnavailable when a peer that must answer cannot."""
    account = account_number(typed)
    if account is None:
        return Miss(INVALID_ACCOUNT, f"the account number {typed[:40]!r} names no booking or invoice")
    session.rollback()
    invoice = None
    if peers.billing is not None:
        invoice = peers.billing.get_as(f"/internal/invoices/paybill/{account}", InternalInvoice)
    elif account.startswith("INV-"):
        raise UpstreamUnavailable("The billing service is unavailable, please retry", 503)
    if invoice is not None:
        if invoice.status == "void":
            return Miss(INVALID_ACCOUNT, f"invoice {invoice.number or account} was cancelled", "cancelled",
                        booking_id=invoice.booking_id, invoice_id=invoice.id, user_id=invoice.user_id)
        return Target(invoice.booking_id, invoice.user_id, invoice.id, invoice.number or account)
    if account.startswith("INV-"):
        return Miss(INVALID_ACCOUNT, f"there is no invoice {account}")
    booking_id = int(account.removeprefix("JESH-"))
    booking = locked_booking(session, booking_service=peers.booking, booking_id=booking_id)
    session.rollback()
    if booking is None or booking.user_id is None or booking.total_price is None:
        return Miss(INVALID_ACCOUNT, f"there is no booking {account}")
    if booking.status == "confirmed":  # (a monthly rental's JESH- went to its invoices above)
        return Miss(INVALID_ACCOUNT, f"booking {account} is paid already", "paid_already",
                    booking_id=booking_id, user_id=booking.user_id)
    if booking.total_price != amount:
        return Miss(INVALID_AMOUNT, f"booking {account} costs KES {booking.total_price}, KES {amount} was paid",
                    "wrong_amount", booking_id=booking_id, user_id=booking.user_id, price=booking.total_price)
    return Target(booking_id, booking.user_id, None, account, cancelled=booking.status == "cancelled")


# --- what M-PESA POSTs ------------------------------------------------------------------------------------------
def validate(*, session: Session, peers: Peers, raw: bytes, paybill: str) -> dict[str, str]:
    """The answer to a validation request: accepted, or rejected with the C2B code that tells the customer why.
    When a peer cannot answer the money is taken (it is settled once they can)."""
    notice = parse_body(raw, parse_c2b)
    if notice is None:
        log.warning("refused a Paybill validation request that is not one (%d bytes)", len(raw))
        return {"ResultCode": OTHER_ERROR, "ResultDesc": "Rejected"}
    if notice.shortcode != paybill:
        return {"ResultCode": INVALID_SHORTCODE, "ResultDesc": "Rejected"}
    amount = whole_shillings(notice.amount)
    if amount is None:
        return {"ResultCode": INVALID_AMOUNT, "ResultDesc": "Rejected"}
    try:
        target = resolve(session, peers, notice.account, amount)
    except UpstreamUnavailable:
        log.warning("Paybill %s: cannot check account %r now; accepted", notice.trans_id, notice.account)
        return ACCEPTED
    if isinstance(target, Miss):
        log.info("Paybill %s refused: %s", notice.trans_id, target.reason)
        return {"ResultCode": target.code, "ResultDesc": "Rejected"}
    return ACCEPTED


def record_confirmation(*, session: Session, raw: bytes, paybill: str) -> tuple[str, str] | None:
    """Keep a confirmation (once per receipt, however often M-PESA repeats it); (receipt, status token) to ask
    Transaction Status about, or None (repeated, or not a payment to our paybill)."""
    notice = parse_body(raw, parse_c2b)
    amount = whole_shillings(notice.amount) if notice is not None else None
    if notice is None or amount is None:
        log.warning("ignored a Paybill confirmation that is not one (%d bytes)", len(raw))
        return None
    ours = notice.shortcode == paybill
    token = new_callback_token()
    created = session.execute(
        insert(PaybillPayment)
        .values(
            trans_id=notice.trans_id, shortcode=notice.shortcode, account=notice.account, amount=amount,
            msisdn=notice.msisdn, payer_name=notice.payer_name, paid_at=notice.paid_at, result_token=token,
            status="received" if ours else "rejected", payload=json.loads(raw),
            note=None if ours else f"paid to {notice.shortcode}, not to the paybill {paybill}",
        )
        .on_conflict_do_nothing(index_elements=[PaybillPayment.trans_id])
        .returning(PaybillPayment.id)
    ).first()
    session.commit()
    if created is None or not ours:
        return None
    log.info("Paybill payment %s of KES %s for %r received; asking M-PESA", notice.trans_id, amount, notice.account)
    return notice.trans_id, token


def mpesa_of(providers: PaymentProviders) -> MpesaProvider:
    """The M-PESA provider, with its Paybill operations (C2B URLs, Transaction Status, Pull Transactions)."""
    mpesa = providers.get("mpesa")
    assert isinstance(mpesa, MpesaProvider)
    return mpesa


def ask_status(providers: PaymentProviders, trans_id: str, token: str) -> bool:
    """Ask M-PESA's Transaction Status about a receipt (no transaction open); False when it could not be asked."""
    try:
        mpesa_of(providers).confirm_paybill(trans_id=trans_id, result_token=token)
    except ProviderError as exc:
        log.warning("cannot ask M-PESA about Paybill payment %s now: %s", trans_id, exc.message)
        return False
    return True


def process_status(*, session: Session, raw: bytes, token: str) -> int | None:
    """A Transaction Status result about a received payment: verified (then the caller applies it, the id is
    returned), rejected, or left to be asked again."""
    status = parse_body(raw, parse_b2c_status)
    if status is None:
        log.warning("ignored a Paybill status result that is not one (%d bytes)", len(raw))
        return None
    row = session.scalars(
        select(PaybillPayment).where(PaybillPayment.result_token == token).with_for_update()
    ).first()
    if row is None or row.status != "received":
        session.rollback()
        return None
    said = (status.status or "").lower()
    if said == "completed":
        amount = whole_shillings(status.amount)
        if row.amount is None and amount is not None:  # claimed by an operator: M-PESA tells the amount
            row.amount = amount
        if amount is None:  # "Completed" without an amount we can read: not verified, asked again later
            log.warning("Paybill payment %s: M-PESA reports it completed without a readable amount (%r)",
                        row.trans_id, status.amount)
            row.note = "M-PESA reported it completed without a readable amount: asked again"
        elif (status.receipt is not None and status.receipt != row.trans_id) or amount != row.amount:
            _reject(row, f"M-PESA reports {status.receipt or row.trans_id} of KES {status.amount}, "
                         f"not KES {row.amount}")
        else:
            row.status, row.phone_number = "verified", phone_of_party(status.debit_party)
    elif said:
        _reject(row, f"M-PESA reports the payment {status.status}")
    elif row.checks >= NOT_FOUND_LIMIT:
        _reject(row, "M-PESA knows no such transaction")
    row.updated_at = datetime.now(UTC)
    session.commit()
    return row.id if row.status == "verified" else None


def _reject(row: PaybillPayment, note: str) -> None:
    log.warning("Paybill payment %s rejected: %s", row.trans_id, note)
    row.status, row.note = "rejected", note


# --- crediting ------------------------------------------------------------------------------------------------
def apply(*, session: Session, peers: Peers, row_id: int) -> bool:
    """A verified payment becomes a success payment of what its account names, or unmatched money. False when a
    peer could not answer (it stays verified, tried again later)."""
    row = session.get(PaybillPayment, row_id)
    if row is None or row.status != "verified":
        session.rollback()
        return True
    account, amount = row.account, row.amount
    assert amount is not None  # verified: M-PESA told it
    try:
        target = resolve(session, peers, account, amount)
    except UpstreamUnavailable as exc:
        log.warning("Paybill payment %s waits: %s", row_id, exc.message)
        return False
    row = session.scalars(
        select(PaybillPayment).where(PaybillPayment.id == row_id, PaybillPayment.status == "verified")
        .with_for_update().execution_options(populate_existing=True)
    ).first()
    if row is None:
        session.rollback()
        return True
    paid = receipt_owner(session, row.trans_id)
    if paid is not None:
        # An M-PESA receipt is one sum of money: an operator's claim of an M-PESA Express receipt (the customer
        # showed that SMS) names money a payment has already. Crediting it again would pay twice (and the unique
        # receipt refuses it: at every pass of the money job, whose other sweeps then never ran).
        _reject(row, f"receipt {row.trans_id} paid payment {paid} already")
        row.updated_at = datetime.now(UTC)
        session.commit()
        return True
    if isinstance(target, Miss):
        unmatched = session.execute(
            insert(Unmatched).values(
                source="paybill", reference=row.trans_id, amount=row.amount, receipt=row.trans_id,
                phone_number=row.phone_number, result_code=0, payload=row.payload,
                reason=f"Paybill account {row.account!r}: {target.reason}",
            ).on_conflict_do_nothing().returning(Unmatched.id)
        ).first()
        row.status, row.note = "unmatched", target.reason
        row.unmatched_id = unmatched[0] if unmatched else None
        log.warning("Paybill payment %s is unmatched: %s", row.trans_id, target.reason)
        if row.unmatched_id is not None:  # the customer hears of it (notifications), in this transaction
            outbox.stage(session, PaymentUnmatched(
                unmatched_id=row.unmatched_id, amount=amount, receipt=row.trans_id,
                account=row.account.strip()[:40] or "(none)", reason=target.kind, booking_id=target.booking_id,
                invoice_id=target.invoice_id, user_id=target.user_id, price=target.price,
                phone_number=row.phone_number or None,
            ))
    else:
        row.status, row.payment_id = "applied", credit(session, row, target)
    row.updated_at = datetime.now(UTC)
    session.commit()
    return True


def receipt_owner(session: Session, receipt: str) -> int | None:
    """The payment that has this M-PESA receipt already (as its receipt or its reference), if any."""
    return session.scalar(select(Payment.id).where(
        (Payment.receipt == receipt) | (Payment.checkout_request_id == receipt)).limit(1))


def credit(session: Session, row: PaybillPayment, target: Target) -> int:
    """A success payment of the target for the Paybill money, and its PaymentSucceeded (in the caller's
    transaction)."""
    now = datetime.now(UTC)
    assert row.amount is not None
    payment = Payment(
        booking_id=target.booking_id, invoice_id=target.invoice_id, user_id=target.user_id, method="mpesa",
        amount=row.amount, status="success", phone_number=row.phone_number, account_reference=target.account,
        checkout_request_id=row.trans_id, receipt=row.trans_id, result_code=0, result_desc="Paid to the Paybill",
        paid_at=row.paid_at or now, settled_at=now,
    )
    session.add(payment)
    session.flush()
    succeeded(
        session, payment_id=payment.id, booking_id=payment.booking_id, invoice_id=payment.invoice_id,
        user_id=payment.user_id, amount=payment.amount, method="mpesa", receipt=payment.receipt,
        checkout_request_id=row.trans_id, paid_at=payment.paid_at or now,
    )
    log.info("Paybill payment %s of KES %s paid %s", row.trans_id, row.amount, target.account)
    return payment.id


# --- the money job ----------------------------------------------------------------------------------------------
def settle_paybill(*, session_factory: sessionmaker[Session], providers: PaymentProviders, peers: Peers,
                   wait_seconds: float, batch_size: int) -> int:
    """Verified payments not credited yet (a peer was down), and received ones whose status result has not come
    for `wait_seconds` (asked again; each claimed by one replica)."""
    done = 0
    for _ in range(batch_size):
        with session_factory() as session:
            row = lease_next(session, PaybillPayment, PaybillPayment.status == "verified", idle=timedelta(seconds=5))
            if row is None:
                break
            row_id = row.id
            session.commit()
            if not apply(session=session, peers=peers, row_id=row_id):
                break
            done += 1
    for _ in range(batch_size):
        with session_factory() as session:
            row = lease_next(session, PaybillPayment, PaybillPayment.status == "received",
                             idle=timedelta(seconds=wait_seconds))
            if row is None:
                break
            row.checks += 1
            if row.checks > MAX_CHECKS:
                _reject(row, f"M-PESA did not answer {MAX_CHECKS} Transaction Status queries; check the org portal")
                session.commit()
                continue
            trans_id, token = row.trans_id, row.result_token
            session.commit()
            if not ask_status(providers, trans_id, token):  # no transaction open
                break
            done += 1
    return done
