"""Request and response models of the payments HTTP contract."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from jeshkit.schemas import UtcTimestamp
from payments.service.attention import What


def _not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number")  # JSON true is not 1 here
    return value


def _blank_is_none(value: str | None) -> str | None:
    """An optional text: trimmed, and none when only spaces."""
    return value.strip() or None if value is not None else None


class PaymentPrompt(BaseModel):
    """POST /api/payments/mpesa/prompt (admin): a customer's pending booking or open invoice, and the phone that gets
    the prompt; what every M-PESA push is asked for."""

    booking_id: int | None = Field(default=None, description="the booking to pay (or give invoice_id)")
    invoice_id: int | None = Field(default=None, description="an invoice to pay (its balance), instead of a booking")
    phone_number: str | int = Field(description="07XXXXXXXX, 01XXXXXXXX, +2547XXXXXXXX or 2547XXXXXXXX")

    _no_boolean_target = field_validator("booking_id", "invoice_id", "phone_number", mode="before")(
        staticmethod(_not_a_boolean))


class InitiateMpesaPayment(PaymentPrompt):
    """POST /api/payments/mpesa/initiate (compat). `amount` is only checked: against the booking's total_price, or
    the invoice's balance."""

    amount: float | None = Field(default=None, description=(
        "what the client thinks it charges: must equal the booking's total_price (or the invoice's balance), else "
        "400; the charge is always the server's figure"))
    account_reference: str | None = Field(default=None, description="shown to the payer; at most 12 characters")

    _no_boolean_amount = field_validator("amount", mode="before")(staticmethod(_not_a_boolean))


class PayInvoice(BaseModel):
    """POST /api/invoices/{invoice_id}/pay: an STK Push for the invoice's balance."""

    phone_number: str | int = Field(description="07XXXXXXXX, 01XXXXXXXX, +2547XXXXXXXX or 2547XXXXXXXX")

    @field_validator("phone_number", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a phone number")
        return value


class MpesaPaymentStarted(BaseModel):
    payment_id: int
    MerchantRequestID: str
    CheckoutRequestID: str
    ResponseCode: str
    ResponseDescription: str
    CustomerMessage: str


class RefundView(BaseModel):
    id: int
    booking_id: int | None
    invoice_id: int | None
    user_id: int | None
    amount: int
    reason: str
    status: str = Field(description="required | approved | paying | paid | failed")
    method: str
    phone_number: str | None
    receipt: str | None = Field(description="the M-PESA B2C receipt once paid")
    failure_reason: str | None
    created_at: UtcTimestamp


class MoneyWaiting(BaseModel):
    """One kind of money waiting for a person (GET /api/payments/admin/attention)."""

    what: What = Field(
        description="unmatched: paid, settling nothing, no refund yet (assign or refund it); payments_unknown: "
        "M-PESA never told the outcome (requery); refunds_required: waiting for approval; refunds_approved, "
        "refunds_paying: waiting for M-PESA or Pesapal; refunds_failed: refused (fix, approve again); "
        "paybill_unverified: not yet confirmed by Transaction Status")
    count: int
    kes: int = Field(description="their amounts, whole Kenya shillings")
    oldest_at: UtcTimestamp | None = Field(description="since when the oldest has waited (null: none)")


class UnmatchedMoney(BaseModel):
    id: int
    source: str = Field(description="stk_callback (no payment has its reference) | booking_unavailable | pesapal_ipn | "
                        "paybill (its account number named nothing it could pay)")
    reference: str | None = Field(description="the CheckoutRequestID (a Paybill payment: its receipt)")
    amount: int | None
    receipt: str | None
    phone_number: str | None
    result_code: int | None
    reason: str
    payment_id: int | None
    booking_id: int | None
    refund_id: int | None
    created_at: UtcTimestamp


class PaymentRecord(BaseModel):
    """A payment as an admin sees it."""

    id: int
    booking_id: int
    invoice_id: int | None
    user_id: int
    amount: int
    method: str
    status: str = Field(description="pending | success | failed | unknown (reconciliation gave up; see discrepancy)")
    phone_number: str | None
    checkout_request_id: str | None
    receipt: str | None
    check_attempts: int
    discrepancy: str | None
    created_at: UtcTimestamp


class PaymentStatus(BaseModel):
    """GET /api/payments/status/{booking_id} (compat): the booking's latest payment."""

    id: int
    status: str = Field(description="pending | success | failed")
    amount: int
    method: str = Field(description="mpesa | card | cash (taken at the desk); paypal on old records")
    transaction_code: str | None = Field(description="the M-PESA receipt number once paid")
    timestamp: UtcTimestamp = Field(description="when the payment was started (UTC)")
    reason: str | None = Field(default=None, description="why a failed payment failed, in words a person can read")
    refund: RefundView | None = Field(default=None, description="the booking's latest refund, if any")


class CallbackAck(BaseModel):
    """The answer Daraja expects, whatever it sent."""

    ResultCode: int = 0
    ResultDesc: str = "Success"


# --- Daraja's STK Push callback, as documented (the route reads the raw body itself, whatever arrives) ---


class StkCallbackItem(BaseModel):
    Name: str
    Value: str | int | float | None = None


class StkCallbackMetadata(BaseModel):
    Item: list[StkCallbackItem]


class StkCallback(BaseModel):
    MerchantRequestID: str
    CheckoutRequestID: str
    ResultCode: int
    ResultDesc: str
    CallbackMetadata: StkCallbackMetadata | None = Field(default=None, description="only on success")


class StkCallbackBody(BaseModel):
    stkCallback: StkCallback


class StkCallbackRequest(BaseModel):
    """What Daraja POSTs to the CallBackURL after an STK Push."""

    Body: StkCallbackBody


# --- Daraja's B2C result (refund payouts), as documented ---


class B2cResultParameter(BaseModel):
    Key: str
    Value: str | int | float | None = None


class B2cResultParameters(BaseModel):
    ResultParameter: list[B2cResultParameter]


class B2cResult(BaseModel):
    ResultType: int | None = None
    ResultCode: int | str
    ResultDesc: str | None = None
    OriginatorConversationID: str
    ConversationID: str | None = None
    TransactionID: str | None = None
    ResultParameters: B2cResultParameters | None = Field(default=None, description="only on success")


class B2cResultRequest(BaseModel):
    """What Daraja POSTs to a payout's ResultURL (or QueueTimeOutURL) after a B2C request."""

    Result: B2cResult


# --- the Paybill (M-PESA C2B) ---


class PaybillInfo(BaseModel):
    """How customers pay from their phone's M-PESA menu (Lipa na M-PESA, Paybill)."""

    enabled: bool
    business_number: str | None = Field(description="the Paybill's business number; null when it is off")


class PaybillRegistered(BaseModel):
    business_number: str
    response_type: str = Field(description="what M-PESA does when our validation URL cannot answer")
    confirmation_url: str = Field(description="registered; its secret segment is not shown")
    validation_url: str
    answer: str = Field(description="M-PESA's ResponseDescription")


class PaybillPaymentView(BaseModel):
    """Money a customer sent to the Paybill, from M-PESA's confirmation to what it paid."""

    id: int
    receipt: str = Field(description="M-PESA's TransID")
    account: str = Field(description="the account number as the customer typed it")
    amount: int | None = Field(description="null while a claimed receipt waits for M-PESA to tell it")
    msisdn: str | None = Field(description="the payer's number as M-PESA shows it (masked)")
    payer_name: str | None
    paid_at: UtcTimestamp | None
    status: str = Field(description="received | verified | applied | unmatched | rejected")
    note: str | None = Field(description="why it is unmatched or rejected")
    payment_id: int | None
    booking_id: int | None
    invoice_id: int | None
    unmatched_id: int | None
    created_at: UtcTimestamp


class ClaimPaybill(BaseModel):
    """POST /api/payments/paybill/claims: a Paybill payment whose confirmation never came."""

    receipt: str = Field(pattern=r"^[A-Za-z0-9]{10}$", description="the M-PESA receipt in the customer's SMS")
    account: str = Field(min_length=1, max_length=40, description="JESH-<booking id> or an invoice number")

    @field_validator("receipt")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class AssignUnmatched(BaseModel):
    """POST /api/payments/unmatched/{id}/assign: the account number the money was meant for."""

    account: str = Field(min_length=1, max_length=40, description="JESH-<booking id> or an invoice number")


class C2bRequest(BaseModel):
    """What M-PESA POSTs to the Paybill's validation and confirmation URLs (C2B)."""

    TransactionType: str | None = None
    TransID: str
    TransTime: str | None = None
    TransAmount: str
    BusinessShortCode: str
    BillRefNumber: str | None = None
    InvoiceNumber: str | None = None
    OrgAccountBalance: str | None = None
    ThirdPartyTransID: str | None = None
    MSISDN: str | None = None
    FirstName: str | None = None
    MiddleName: str | None = None
    LastName: str | None = None


class C2bAnswer(BaseModel):
    """Accepted (`0`) or rejected with a C2B code (C2B00012 invalid account number, C2B00013 invalid amount…)."""

    ResultCode: str = "0"
    ResultDesc: str = "Accepted"


class InitiateCardPayment(BaseModel):
    """POST /api/payments/card/initiate: a Pesapal order for a booking's total_price or an invoice's balance."""

    booking_id: int | None = Field(default=None, description="the booking to pay (or give invoice_id)")
    invoice_id: int | None = Field(default=None, description="an invoice to pay (its balance), instead of a booking")

    @field_validator("booking_id", "invoice_id", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        return value


class CardPaymentStarted(BaseModel):
    payment_id: int
    redirect_url: str = Field(description="Pesapal's payment page (card or Airtel Money): send the customer there")
    order_tracking_id: str = Field(description="Pesapal's OrderTrackingId of the order")


class CardPaymentReturn(BaseModel):
    """Where Pesapal sends the customer's browser back: the payment as Pesapal's status query left it."""

    payment_id: int
    booking_id: int
    invoice_id: int | None
    status: str = Field(description="pending | success | failed")


class PesapalAck(BaseModel):
    """The acknowledgement Pesapal expects from the IPN URL (status 500: received, but could not be processed)."""

    orderNotificationType: str = "IPNCHANGE"
    orderTrackingId: str
    orderMerchantReference: str
    status: int = 200


class PesapalNotification(BaseModel):
    """Pesapal's IPN (a JSON body on POST, the query string on GET); it never carries the outcome."""

    OrderTrackingId: str
    OrderMerchantReference: str
    OrderNotificationType: str = Field(description="IPNCHANGE (RECURRING for subscriptions)")


class CashIn(BaseModel):
    """POST /api/payments/cash (admin): cash taken at the desk for a booking or an invoice."""

    account: str = Field(min_length=1, max_length=40, description="JESH-<booking id> or an invoice number, typed "
                         "loosely (case, spaces, a missing dash and leading zeros do not matter)")
    amount: int = Field(gt=0, le=1_000_000, description="whole Kenya shillings; a booking's must equal its price")
    note: str | None = Field(default=None, max_length=200, description="e.g. the paper receipt book's number")

    _no_boolean_amount = field_validator("amount", mode="before")(staticmethod(_not_a_boolean))

    _blank_note_is_none = field_validator("note")(staticmethod(_blank_is_none))


class CashReceived(BaseModel):
    """Cash the desk took (a payment)."""

    payment_id: int
    receipt: str | None = Field(description="CASH-000123")
    account: str | None = Field(description="what it paid: JESH-<booking id> or the invoice's number")
    amount: int
    booking_id: int
    invoice_id: int | None
    received_by: int | None = Field(description="the operator's user id")
    note: str | None
    paid_at: UtcTimestamp | None


class CashPaidBack(BaseModel):
    """A refund the desk handed back in cash."""

    refund_id: int
    receipt: str | None = Field(description="CASH-R<refund id>")
    amount: int
    booking_id: int | None
    invoice_id: int | None
    paid_by: int | None = Field(description="the operator's user id")
    paid_at: UtcTimestamp | None


class CashCountIn(BaseModel):
    """POST /api/payments/cash/counts (admin): what an operator counted in the drawer."""

    counted: int = Field(ge=0, le=100_000_000, description="whole Kenya shillings counted in the drawer")
    day: date | None = Field(default=None, description="the cash book's day, YYYY-MM-DD; today in Nairobi by "
                             "default, never a day to come")
    note: str | None = Field(default=None, max_length=200, description="e.g. who else counted, or why it differs")

    _no_boolean_amount = field_validator("counted", mode="before")(staticmethod(_not_a_boolean))

    _blank_note_is_none = field_validator("note")(staticmethod(_blank_is_none))


class CashCountView(BaseModel):
    """The drawer counted, against what the cash book said it should hold at that moment."""

    id: int
    day: date
    counted: int
    expected: int = Field(description="what the cash book said the drawer should hold at that day's close (today: at "
                                      "the count)")
    difference: int = Field(description="counted - expected: below 0 the drawer is short, above 0 it is over")
    note: str | None
    counted_by: int = Field(description="the operator's user id")
    counted_at: UtcTimestamp


class CashMovementIn(BaseModel):
    """POST /api/payments/cash/movements (admin): cash banked out of the drawer, or float put into it."""

    kind: Literal["banked", "float"] = Field(description="banked: taken to the bank; float: put into the drawer")
    amount: int = Field(gt=0, le=100_000_000, description="whole Kenya shillings")
    reference: str | None = Field(default=None, max_length=60, description="e.g. the bank's deposit slip number")
    note: str | None = Field(default=None, max_length=200)

    _no_boolean_amount = field_validator("amount", mode="before")(staticmethod(_not_a_boolean))
    _blank_texts_are_none = field_validator("reference", "note")(staticmethod(_blank_is_none))


class CashMovementView(BaseModel):
    """Cash banked out of the drawer or float put into it, or the reversal of one recorded by mistake."""

    id: int
    kind: Literal["banked", "float"]
    amount: int = Field(description="whole Kenya shillings; below 0 in a reversal (the movement it reverses, undone)")
    reference: str | None
    note: str | None = Field(description="in a reversal, its reason")
    moved_by: int = Field(description="the operator's user id")
    moved_at: UtcTimestamp
    reverses: int | None = Field(description="a reversal: the id of the movement it cancels")
    reversed_by: int | None = Field(description="the id of this movement's reversal, once reversed")


class CashReversalIn(BaseModel):
    """POST /api/payments/cash/movements/{movement_id}/reversal (admin): why the movement is undone."""

    reason: str = Field(min_length=3, max_length=200, description="e.g. 'typed 50,000 for 5,000'")

    @field_validator("reason")
    @classmethod
    def _reason_not_blank(cls, reason: str) -> str:
        if len(reason := reason.strip()) < 3:
            raise ValueError("a reversal needs its reason")
        return reason


class CashBook(BaseModel):
    """GET /api/payments/cash: one day's cash at the desk (Nairobi time), newest first."""

    day: date
    opening: int = Field(description="what the drawer should have held when the day began (every movement before)")
    received: list[CashReceived]
    received_total: int
    paid_back: list[CashPaidBack]
    paid_back_total: int
    net: int = Field(description="received_total - paid_back_total: the day's takings")
    movements: list[CashMovementView] = Field(description="cash banked and float put in that day, and the reversals "
                                                           "recorded that day, newest first")
    banked_total: int = Field(description="the day's banked movements, less the reversals of banked movements")
    float_total: int = Field(description="the day's float movements, less the reversals of float movements")
    closing: int = Field(description="opening + net - banked_total + float_total: what the drawer should hold at the "
                                     "day's close (today: now)")
    counts: list[CashCountView] = Field(description="the drawer counted that day, newest first (the newest is the "
                                                    "day's count)")


class RegisterPull(BaseModel):
    """POST /api/payments/paybill/pull: the organisation's Safaricom number M-PESA ties Pull Transactions to."""

    nominated_number: str = Field(min_length=9, max_length=16, description="07XXXXXXXX, 01XXXXXXXX or 2547XXXXXXXX")


class PaybillPullView(BaseModel):
    """The Paybill's Pull Transactions registration and its last pull."""

    business_number: str
    nominated_number: str
    pulled_until: UtcTimestamp = Field(description="every payment completed before this has been listed")
    last_found: int = Field(description="payments whose confirmation never came, taken by the last pull")
    last_error: str | None = Field(description="why the last pull failed (it is tried again)")
    registered_at: UtcTimestamp
    answer: str | None = Field(default=None, description="M-PESA's answer to the registration")
