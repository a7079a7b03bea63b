"""Tables of the payments database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jeshkit.db import new_metadata

BOOKING_STATUSES = ("pending", "confirmed", "cancelled")
# `unknown`: reconciliation gave up asking (an admin looks at it); like `pending`, it blocks a new attempt.
PAYMENT_STATUSES = ("pending", "success", "failed", "unknown")
UNSETTLED = ("pending", "unknown")
PAYMENT_METHODS = ("mpesa", "paypal", "card", "cash")
REFUND_STATUSES = ("required", "approved", "paying", "paid", "failed")


class Base(DeclarativeBase):
    metadata = new_metadata()


class Booking(Base):
    """Payments' own copy of what it needs about a booking (fed by Booking* events, or fetched once).

    A BookingCancelled that overtook its BookingCreated leaves a row with only the status known.
    """

    __tablename__ = "bookings"
    __table_args__ = (CheckConstraint("status IN ('pending', 'confirmed', 'cancelled')", name="status_known"),)

    booking_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    unit_id: Mapped[int | None] = mapped_column(BigInteger)
    total_price: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the event that set `status` happened (a re-confirmation after an expiry must win over it).
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Payment(Base):
    """One attempt to collect money for a booking or an invoice (for M-PESA: one STK Push).

    The row is written and committed *before* Daraja is asked, with the push's own callback token, so that a
    push Daraja accepted is never forgotten: its callback finds the row by that token even when the answer
    carrying the CheckoutRequestID never came back.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'success', 'failed', 'unknown')", name="status_known"),
        CheckConstraint("method IN ('mpesa', 'paypal', 'card', 'cash')", name="method_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        # At most one unsettled push per booking (or per invoice), whatever the concurrency.
        Index(
            "uq_payments_one_unsettled_per_booking",
            "booking_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'unknown') AND invoice_id IS NULL"),
        ),
        Index(
            "uq_payments_one_unsettled_per_invoice",
            "invoice_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'unknown') AND invoice_id IS NOT NULL"),
        ),
        Index("ix_payments_booking_id_created_at", "booking_id", "created_at"),
        Index("ix_payments_pending_next_check_at", "next_check_at", postgresql_where=text("status = 'pending'")),
        Index("ix_payments_cash_paid_at", "paid_at", postgresql_where=text("method = 'cash'")),  # the cash book
        # What reconciliation gave up on, read at every metrics scrape (payments.metrics).
        Index("ix_payments_unknown_created_at", "created_at", postgresql_where=text("status = 'unknown'")),
        # An invoice's money billing has not applied yet (a new push for the invoice waits for it).
        Index("ix_payments_unapplied_invoice_id", "invoice_id", postgresql_where=text(
            "status = 'success' AND invoice_id IS NOT NULL AND billing_applied_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    booking_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    invoice_id: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    phone_number: Mapped[str | None] = mapped_column(Text)
    account_reference: Mapped[str | None] = mapped_column(Text)
    merchant_request_id: Mapped[str | None] = mapped_column(Text)
    # Null until Daraja's answer arrives (or the push's callback tells it).
    checkout_request_id: Mapped[str | None] = mapped_column(Text, unique=True)
    # The secret last path segment of this push's CallBackURL; its callbacks carry it.
    callback_token: Mapped[str | None] = mapped_column(Text, unique=True)
    # When the push was (or was being) sent; null: queued (autopay), a job sends it.
    push_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result_code: Mapped[int | None] = mapped_column(Integer)
    result_desc: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str | None] = mapped_column(Text, unique=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When billing told (RentPaymentApplied) that it applied this payment of an invoice to the rental: until then the
    # invoice's balance billing answers does not count it.
    billing_applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Cash: the operator who took it at the desk.
    received_by: Mapped[int | None] = mapped_column(BigInteger)
    # Anything that did not add up (a callback contradicting Daraja's query, a wrong amount...), for a human.
    discrepancy: Mapped[str | None] = mapped_column(Text)
    callbacks_received: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A failure callback Daraja's query could not confirm yet: what it said, re-checked later.
    reported_result_code: Mapped[int | None] = mapped_column(Integer)
    check_attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


class Refund(Base):
    """Money owed back to a payer: `required -> approved -> paying -> paid | failed` (failed may be approved again)."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(
            "status IN ('required', 'approved', 'paying', 'paid', 'failed')", name="status_known"
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        # One refund per payment, whatever raised it (a cancellation, money for dates taken...).
        Index("uq_refunds_payment_id", "payment_id", unique=True, postgresql_where=text("payment_id IS NOT NULL")),
        Index("ix_refunds_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(BigInteger)
    invoice_id: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    payment_id: Mapped[int | None] = mapped_column(BigInteger)
    unmatched_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False, server_default="mpesa")
    phone_number: Mapped[str | None] = mapped_column(Text)
    # Ours, unique per payout attempt: sending the same one again never pays twice. A new one is made only
    # once M-PESA said the previous attempt did not pay.
    originator_conversation_id: Mapped[str | None] = mapped_column(Text, unique=True)
    conversation_id: Mapped[str | None] = mapped_column(Text)
    result_token: Mapped[str | None] = mapped_column(Text, unique=True)
    receipt: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


class Unmatched(Base):
    """Money that arrived but settles no payment: kept, never dropped, for an admin to look at or refund."""

    __tablename__ = "unmatched"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source: Mapped[str] = mapped_column(Text, nullable=False)  # stk_callback, late_payment...
    reference: Mapped[str | None] = mapped_column(Text)  # CheckoutRequestID
    amount: Mapped[int | None] = mapped_column(Integer)
    receipt: Mapped[str | None] = mapped_column(Text, unique=True)
    phone_number: Mapped[str | None] = mapped_column(Text)
    result_code: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    payment_id: Mapped[int | None] = mapped_column(BigInteger)
    booking_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


# Unmatched money from these sources that has a payment_id has paid it since (a callback applied once its payment was
# recorded; Paybill money an operator assigned to an account): no longer waiting, nor to be refunded.
APPLIED_WHEN_TIED = ("stk_callback", "paybill")

PAYBILL_STATUSES = ("received", "verified", "applied", "unmatched", "rejected")


class PaybillPayment(Base):
    """Money a customer sent to the Paybill from their phone (M-PESA C2B), as its confirmation told it.

    `received` (M-PESA's confirmation kept; never trusted) -> `verified` (Transaction Status says Completed, same
    amount) -> `applied` (a success payment of its booking or invoice) or `unmatched` (kept for an operator);
    `rejected` when M-PESA does not confirm it (nothing credited).
    """

    __tablename__ = "paybill_payments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('received', 'verified', 'applied', 'unmatched', 'rejected')", name="status_known"
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_paybill_payments_open", "updated_at", postgresql_where=text("status IN ('received', 'verified')")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    trans_id: Mapped[str] = mapped_column(Text, nullable=False, unique=True)  # M-PESA's receipt
    shortcode: Mapped[str] = mapped_column(Text, nullable=False)
    account: Mapped[str] = mapped_column(Text, nullable=False)  # BillRefNumber as the customer typed it
    # Null only for a payment an operator claimed by its receipt, until Transaction Status tells the amount.
    amount: Mapped[int | None] = mapped_column(Integer)
    msisdn: Mapped[str | None] = mapped_column(Text)  # masked by M-PESA ("2547 ***** 126")
    payer_name: Mapped[str | None] = mapped_column(Text)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # TransTime
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'received'"))
    # The secret last path segment of the Transaction Status ResultURL asked about it.
    result_token: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    checks: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    phone_number: Mapped[str | None] = mapped_column(Text)  # the payer's, told by Transaction Status
    payment_id: Mapped[int | None] = mapped_column(BigInteger)
    unmatched_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class PaybillPull(Base):
    """A paybill registered for Pull Transactions, and how far its payments have been listed (the job that pulls them
    leases the row through updated_at, one replica at a time)."""

    __tablename__ = "paybill_pulls"

    shortcode: Mapped[str] = mapped_column(Text, primary_key=True)
    nominated_number: Mapped[str] = mapped_column(Text, nullable=False)
    registered_by: Mapped[int | None] = mapped_column(BigInteger)
    # Every payment completed before this was listed (the next pull starts a little earlier, for late listings).
    pulled_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_found: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")  # taken by the last pull
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class CashCount(Base):
    """The desk's drawer counted at the end of a day: what was counted against what the cash book said it should hold
    at that day's close. A recount adds a row; the newest is the day's count."""

    __tablename__ = "cash_counts"
    __table_args__ = (CheckConstraint("counted >= 0", name="counted_not_negative"),
                      Index("ix_cash_counts_day", "day", "id"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)  # Nairobi's calendar day of the cash book counted
    counted: Mapped[int] = mapped_column(BigInteger, nullable=False)  # KES in the drawer
    expected: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the cash book's closing balance at the count
    note: Mapped[str | None] = mapped_column(Text)
    counted_by: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the operator's user id
    counted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class CashMovement(Base):
    """Cash moved out of the drawer to the bank (`banked`) or into it from elsewhere (`float`): with the cash taken and
    handed back at the desk, what the drawer should hold.

    A movement recorded by mistake is never edited nor deleted: its reversal (`reverses` its id, the same kind, the
    opposite amount, the reason in `note`) cancels it from the moment it is recorded, at most once."""

    __tablename__ = "cash_movements"
    __table_args__ = (CheckConstraint("kind IN ('banked', 'float')", name="kind_known"),
                      CheckConstraint("(reverses IS NULL AND amount > 0) OR (reverses IS NOT NULL AND amount < 0)",
                                      name="amount_signed"),
                      Index("ix_cash_movements_moved_at", "moved_at"),
                      Index("uq_cash_movements_idempotency_key", "idempotency_key", unique=True),
                      Index("uq_cash_movements_reverses", "reverses", unique=True))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # KES; below 0 in a reversal
    reverses: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cash_movements.id"))
    reference: Mapped[str | None] = mapped_column(Text)  # the bank's deposit slip, say
    note: Mapped[str | None] = mapped_column(Text)
    moved_by: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the operator's user id
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(Text)  # the console's, per form: sent again, recorded once


class ErasedCustomer(Base):
    """A customer auth erased while money of theirs was still in flight: their phone numbers go once it settles."""

    __tablename__ = "erased_customers"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class CashReceiptNumber(Base):
    """The last cash receipt number given (a single row, id 1): the desk's receipts run CASH-000124, CASH-000125, ...
    with no gap, like a paper receipt book, whatever the other payments between them."""

    __tablename__ = "cash_receipt_numbers"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(BigInteger, nullable=False)


class DarajaToken(Base):
    """The one Daraja OAuth token all replicas share (see payments.token_store); a single row, id 1."""

    __tablename__ = "daraja_token"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    access_token: Mapped[str | None] = mapped_column(Text)
    good_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetching_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PesapalToken(Base):
    """The one Pesapal access token all replicas share (5 minutes; see payments.token_store); a single row, id 1."""

    __tablename__ = "pesapal_token"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    access_token: Mapped[str | None] = mapped_column(Text)
    good_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetching_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PesapalIpn(Base):
    """The IPN id Pesapal gave for each IPN URL we registered (registered once per URL, then kept)."""

    __tablename__ = "pesapal_ipn"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    ipn_id: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
