"""The typed event layer: one pydantic model per event type's data, used to stage and to handle events.

    from jeshkit.events import PaymentSucceeded, stage
    stage(session, PaymentSucceeded(payment_id=1, booking_id=2, ...))    # in the use case's transaction

    def on_payment_succeeded(session: Session, data: PaymentSucceeded, event: Event) -> None: ...
    HANDLERS: Handlers = {PaymentSucceeded: on_payment_succeeded}

The consumer validates a received event's data with its model before the handler runs; data that does not
match is parked in `dead_letter`, never half applied. Each model is the source of its contract
`contracts/events/<Type>.v<N>.schema.json` (generated, checked for drift by a test).
Adding an event: its model in the module of the service that publishes it, `python
tools/contracts/event_contracts.py --write`, and a pass and a fail example in contracts/events/examples/.
"""

from jeshkit.events.auth import (
    AccountChanged,
    CustomerErased,
    ErasureRequested,
    PasswordChanged,
    PasswordResetRequested,
    SessionsEnded,
    UserRegistered,
    UserUpdated,
)
from jeshkit.events.base import (
    EVENT_TYPES,
    Count,
    Day,
    Email,
    EventData,
    EventDataError,
    EventPart,
    Flag,
    Id,
    Int,
    Kes,
    Moment,
    Secret,
    Text,
    contract_schema,
    model_for,
)
from jeshkit.events.billing import (
    AccessRestored,
    AccessSuspended,
    AutopayRequested,
    CreditRefundRequired,
    InvoiceIssued,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceReminder,
    LateFeeCharged,
    PaidInvoice,
    RentPaymentApplied,
)
from jeshkit.events.booking import (
    BookingCancelled,
    BookingConfirmed,
    BookingCreated,
    BookingMovedOut,
    RefundRequired,
    UnitReleased,
)
from jeshkit.events.inventory import UnitCreated, UnitUpdated
from jeshkit.events.payments import PaymentFailed, PaymentSucceeded, PaymentUnmatched, RefundFailed, RefundPaid
from jeshkit.events.transport import TransportStatusChanged
from jeshkit.outbox import Event, stage

__all__ = [
    "EVENT_TYPES", "AccessRestored", "AccessSuspended", "AccountChanged", "AutopayRequested", "BookingCancelled",
    "BookingConfirmed", "BookingCreated", "BookingMovedOut", "Count", "CreditRefundRequired", "CustomerErased", "Day",
    "Email", "ErasureRequested", "Event", "EventData", "EventDataError", "EventPart", "Flag", "Id", "Int",
    "InvoiceIssued", "InvoiceOverdue", "InvoicePaid", "InvoiceReminder", "Kes", "LateFeeCharged", "Moment",
    "PaidInvoice", "PasswordChanged", "PasswordResetRequested", "PaymentFailed", "PaymentSucceeded",
    "PaymentUnmatched", "RefundFailed", "RefundPaid", "RefundRequired", "RentPaymentApplied", "Secret",
    "SessionsEnded", "Text", "TransportStatusChanged", "UnitCreated", "UnitReleased", "UnitUpdated", "UserRegistered",
    "UserUpdated", "contract_schema", "model_for", "stage",
]
