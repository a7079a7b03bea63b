"""Events published by billing."""

from __future__ import annotations

from pydantic import Field

from jeshkit.events.base import Count, Day, EventData, EventPart, Flag, Id, Kes, Text
from jeshkit.events.payments import Method


class InvoiceFacts(EventData):
    """The fields every invoice event carries."""

    abstract = True
    source = "billing"
    invoice_id: Id
    number: Text
    booking_id: Id
    user_id: Id
    total: Kes
    balance: Kes
    due_date: Day
    period_start: Day
    period_end: Day


class InvoiceIssued(InvoiceFacts):
    """An invoice was issued for a rental period."""


class InvoiceReminder(InvoiceFacts):
    """An open invoice falls due soon."""

    days_until_due: Count


class InvoiceOverdue(InvoiceFacts):
    """An invoice passed its due date unpaid."""

    days_overdue: Count
    late_fee: Kes


class LateFeeCharged(InvoiceFacts):
    """A late fee was added to an overdue invoice."""

    amount: Kes


class InvoicePaid(InvoiceFacts):
    """An invoice was paid in full."""

    amount_paid: Kes
    receipt: Text | None
    method: Method | None = Field(
        default=None, description="how the payment that completed it was made; null when none did (absent from "
        "events published before it was added)"
    )
    with_booking: Flag = Field(
        default=False, description="paid by the booking's own payment (a monthly rental's first invoice, paid when "
        "the booking was): the booking's confirmation already tells the customer of that money"
    )
    payment_id: Id | None = Field(
        default=None, description="the payment that completed it (its RentPaymentApplied is the customer's receipt, "
        "unless with_booking); null when none did (the rental's credit paid it); absent from events published before "
        "it was added"
    )


class PaidInvoice(EventPart):
    """What one payment put on one invoice."""

    invoice_id: Id
    number: Text
    amount: Kes


class RentPaymentApplied(EventData):
    """Billing applied a payment to a rental: spread over its open invoices, oldest first, the rest paid ahead (or,
    the rental having ended, to be refunded). One per payment, whatever it paid: the customer's receipt."""

    source = "billing"
    payment_id: Id
    booking_id: Id
    user_id: Id
    amount: Kes
    method: Method
    receipt: Text | None = Field(description="the payment's receipt; null when the payment carried none")
    invoices: list[PaidInvoice] = Field(
        description="what it paid on each invoice, oldest first; empty when it paid none (all paid ahead, or refunded)"
    )
    balance: Kes = Field(description="what the rental still owes after it (its open invoices less its credit)")
    credit: Kes = Field(description="what the rental has paid ahead after it (credit no invoice has taken yet)")
    refund: Kes = Field(
        description="what of it goes back to the customer: the rental had ended, no invoice will take it (billing's "
        "CreditRefundRequired asks payments for the refund)"
    )


class AccessFacts(EventData):
    """The fields of an access change."""

    abstract = True
    source = "billing"
    booking_id: Id
    user_id: Id
    unit_id: Id
    balance: Kes


class AccessSuspended(AccessFacts):
    """A customer's access to a unit was suspended for an unpaid balance."""


class AccessRestored(AccessFacts):
    """A customer's access to a unit was restored."""


class AutopayRequested(EventData):
    """Billing asks payments to charge an open invoice by STK Push (billing never talks to Daraja)."""

    source = "billing"
    personal = True  # the phone number to prompt
    invoice_id: Id
    booking_id: Id
    user_id: Id
    amount: Kes
    phone_number: Text
    attempt: Id


class CreditRefundRequired(EventData):
    """A rental's money that no invoice of it will ever take (paid ahead of a move-out, or paid to a rental that has
    ended): payments owes it back to the customer, a refund an admin approves."""

    source = "billing"
    booking_id: Id
    user_id: Id
    amount: Kes
    reason: Text
