"""Use cases of the payments service, one module per use case; each owns its transaction and stages the events
it causes, and none calls Daraja or a peer service with a transaction or a row lock open."""

from payments.service.bookings import locked_booking, remember_booking
from payments.service.callbacks import apply_stk_callback, process_stk_callback
from payments.service.erasure import customer_holds, erase_customer, finish_erasures
from payments.service.initiate import initiate_invoice_payment, initiate_payment, send_queued_pushes
from payments.service.queries import (
    list_payments,
    list_refunds,
    list_unmatched,
    payment_record,
    payment_status,
    refund_view,
)
from payments.service.reconcile import money_in_flight, reconcile_pending_payments, requery_unknown_payment
from payments.service.refunds import (
    approve_refund,
    process_b2c_result,
    process_b2c_timeout,
    refund_unmatched,
    retry_unsure_payouts,
)
from payments.service.refunds_owed import on_booking_cancelled, on_refund_required, raise_credit_refund, raise_refund

__all__ = [
    "apply_stk_callback",
    "approve_refund",
    "customer_holds",
    "erase_customer",
    "finish_erasures",
    "initiate_invoice_payment",
    "initiate_payment",
    "list_payments",
    "list_refunds",
    "list_unmatched",
    "locked_booking",
    "money_in_flight",
    "on_booking_cancelled",
    "on_refund_required",
    "payment_record",
    "payment_status",
    "process_b2c_result",
    "process_b2c_timeout",
    "process_stk_callback",
    "raise_credit_refund",
    "raise_refund",
    "reconcile_pending_payments",
    "refund_unmatched",
    "refund_view",
    "remember_booking",
    "requery_unknown_payment",
    "retry_unsure_payouts",
    "send_queued_pushes",
]
