"""Events published by payments."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from jeshkit.events.base import EventData, Id, Int, Kes, Moment, Text

# cash: taken at the desk by an operator (its refund is handed back there too).
Method = Literal["mpesa", "card", "cash"]
INVOICE = "the billing invoice paid, when the payment was for one"


class PaymentSucceeded(EventData):
    """Daraja confirmed a payment for a booking."""

    source = "payments"
    payment_id: Id
    booking_id: Id
    user_id: Id
    amount: Kes
    method: Method
    receipt: Text | None = Field(
        description="MpesaReceiptNumber; null when the payment was settled by STK Push Query, which carries no receipt"
    )
    checkout_request_id: Text
    paid_at: Moment
    invoice_id: Id | None = Field(default=None, description=INVOICE)


class PaymentFailed(EventData):
    """A payment attempt for a booking failed (the booking stays pending)."""

    source = "payments"
    payment_id: Id
    booking_id: Id
    user_id: Id
    amount: Kes
    method: Method
    result_code: Int = Field(description="Daraja's ResultCode")
    reason: Text = Field(description="why, in words a customer can read")
    checkout_request_id: Text | None
    invoice_id: Id | None = Field(default=None, description=INVOICE)


class RefundFacts(EventData):
    """The fields RefundPaid and RefundFailed both carry."""

    abstract = True
    source = "payments"
    refund_id: Id
    booking_id: Id
    invoice_id: Id | None = None
    payment_id: Id | None = Field(
        default=None, description="the payment whose money goes back (null in events published before it was carried)"
    )
    user_id: Id
    amount: Kes
    method: Method


class RefundPaid(RefundFacts):
    """A refund reached the customer."""

    receipt: Text


class RefundFailed(RefundFacts):
    """A refund could not be paid (an admin decides what next)."""

    reason: Text


# Why money sent to the Paybill pays nothing: its account number names no booking or invoice, it is not the booking's
# price, the booking is paid already, or the invoice (or booking) was cancelled.
UnmatchedReason = Literal["unknown_account", "wrong_amount", "paid_already", "cancelled"]


class PaymentUnmatched(EventData):
    """Money reached the Paybill that pays nothing its account number names: it waits for an operator, who pays it
    back or applies it to the right account."""

    source = "payments"
    personal = True  # the payer's phone number
    unmatched_id: Id
    amount: Kes
    receipt: Text = Field(description="M-PESA's TransID")
    account: Text = Field(description="the account number as the customer typed it (its first 40 characters)")
    reason: UnmatchedReason
    booking_id: Id | None = Field(default=None, description="the booking the account number names, if any")
    invoice_id: Id | None = Field(default=None, description="the invoice the account number names, if any")
    user_id: Id | None = Field(default=None, description="the customer of that booking or invoice")
    price: Kes | None = Field(default=None, description="what the booking costs (wrong_amount)")
    phone_number: Text | None = Field(default=None, description="the payer's number, when M-PESA told it")
