"""Request and response models of the payments HTTP contract."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator


class InitiateMpesaPayment(BaseModel):
    """POST /api/payments/mpesa/initiate (compat). `amount` is only checked against the booking's total."""

    booking_id: int
    phone_number: str | int = Field(description="07XXXXXXXX, 01XXXXXXXX, +2547XXXXXXXX or 2547XXXXXXXX")
    amount: float | None = Field(default=None, description="must equal the booking's total_price")
    account_reference: str | None = Field(default=None, description="shown to the payer; at most 12 characters")

    @field_validator("booking_id", "phone_number", "amount", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a number")  # JSON true is not 1 here
        return value


class MpesaPaymentStarted(BaseModel):
    payment_id: int
    MerchantRequestID: str
    CheckoutRequestID: str
    ResponseCode: str
    ResponseDescription: str
    CustomerMessage: str


class PaymentStatus(BaseModel):
    """GET /api/payments/status/{booking_id} (compat): the booking's latest payment."""

    id: int
    status: str = Field(description="pending | success | failed")
    amount: int
    method: str = Field(description="mpesa | paypal | card")
    transaction_code: str | None = Field(description="the M-PESA receipt number once paid")
    timestamp: datetime = Field(description="when the payment was started (UTC)")
    reason: str | None = Field(default=None, description="why a failed payment failed, in words a person can read")


class CallbackAck(BaseModel):
    """The answer Daraja expects, whatever it sent."""

    ResultCode: int = 0
    ResultDesc: str = "Success"
