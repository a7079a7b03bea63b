"""M-PESA result codes as reasons a person can read (used in PaymentFailed and logs)."""

from __future__ import annotations

REASONS: dict[int, str] = {
    0: "Paid",
    1: "Insufficient M-PESA balance",
    2: "The amount is below M-PESA's minimum",
    3: "The amount is above M-PESA's maximum",
    4: "The payer's daily M-PESA limit was exceeded",
    8: "The payer's M-PESA account balance limit was exceeded",
    17: "The same amount was sent to the same customer within 2 minutes",
    1001: "Another M-PESA transaction is already in progress for this phone",
    1019: "The payment request expired",
    1025: "The payment prompt could not be sent to the phone",
    1032: "The payment was cancelled by the user",
    1037: "The phone could not be reached",
    2001: "Wrong M-PESA PIN",
    2028: "The payment is not permitted for this till or paybill",
    8006: "The payer's M-PESA account is locked",
}


def reason_for(result_code: int, result_desc: str | None = None) -> str:
    """A readable reason for an M-PESA result code; an unknown code keeps Daraja's own words."""
    if result_code in REASONS:
        return REASONS[result_code]
    detail = f": {result_desc.strip()}" if result_desc and result_desc.strip() else ""
    return f"The payment failed (M-PESA result {result_code}){detail}"
