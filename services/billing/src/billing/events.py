"""The events billing reads and writes: the kit's typed layer (jeshkit.events), named in one place."""

from jeshkit.events import (
    AccessRestored,
    AccessSuspended,
    AutopayRequested,
    BookingCancelled,
    BookingConfirmed,
    BookingMovedOut,
    CreditRefundRequired,
    CustomerErased,
    Event,
    InvoiceIssued,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceReminder,
    LateFeeCharged,
    PaidInvoice,
    PaymentSucceeded,
    RefundPaid,
    RentPaymentApplied,
    UnitCreated,
    UnitUpdated,
    UserRegistered,
    UserUpdated,
    stage,
)

__all__ = [
    "AccessRestored", "AccessSuspended", "AutopayRequested", "BookingCancelled", "BookingConfirmed",
    "BookingMovedOut", "CreditRefundRequired", "CustomerErased", "Event", "InvoiceIssued", "InvoiceOverdue",
    "InvoicePaid", "InvoiceReminder", "LateFeeCharged", "PaidInvoice", "PaymentSucceeded", "RefundPaid",
    "RentPaymentApplied", "UnitCreated", "UnitUpdated", "UserRegistered", "UserUpdated", "stage",
]
