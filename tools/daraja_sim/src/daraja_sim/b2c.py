"""Simulated B2C payouts (refunds): `POST /mpesa/b2c/v3/paymentrequest`, the result POSTed to ResultURL later.

The receiving phone picks the outcome: ending in `9999` fails (ResultCode 2040), ending in `9998` times out in
the queue (QueueTimeOutURL is called instead), ending in `9997` is paid but its result is lost (never POSTed: only
the Transaction Status query tells), anything else is paid. An OriginatorConversationID seen before gets the first
answer again and pays nothing more.

Transaction Status (`POST /mpesa/transactionstatus/v1/query`, by `OriginalConversationID` or the receipt as
`TransactionID`) is accepted at once and its result POSTed to its ResultURL: `TransactionStatus` `Completed` with
`ReceiptNo` and `Amount` for a paid payout, `Failed` for a failed one; for a payout it never processed (unknown, or
timed out in the queue) the result has ResultCode 1 ("not found"; the simulator's choice, no parameters). A
TransactionID that is no payout's receipt may name a completed C2B payment (c2b.py, through `status_query`'s hook).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from daraja_sim.settings import SimSettings
from daraja_sim.wire import (
    bad_request,
    digits_of,
    nairobi_now,
    new_receipt,
    phone_of,
    valid_callback_url,
    whole_amount,
)

COMMAND_IDS = ("BusinessPayment", "SalaryPayment", "PromotionPayment")
FAILS = "9999"
QUEUE_TIMEOUT = "9998"
RESULT_LOST = "9997"
NOT_FOUND = 1
RESULT_DESCRIPTIONS = {
    0: "The service request is processed successfully.",
    2040: "Credit Party customer type (Unregistered or Registered Customer) can't be supported by the service.",
}


# (TransactionID, PartyA) -> the ResultParameter list of a transaction that is not a payout, or None
OtherTransactions = Callable[[str, str], list[dict[str, Any]] | None]


@dataclass
class Payout:
    originator_conversation_id: str
    conversation_id: str
    amount: int
    party_a: str
    phone: str
    result_url: str
    queue_timeout_url: str
    result_code: int
    queue_timeout: bool
    receipt: str | None
    result_lost: bool
    created_at: datetime
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def answer(self) -> dict[str, str]:
        return {
            "ConversationID": self.conversation_id,
            "OriginatorConversationID": self.originator_conversation_id,
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully.",
        }

    def result_body(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "ResultType": 0,
            "ResultCode": self.result_code,
            "ResultDesc": RESULT_DESCRIPTIONS.get(self.result_code, "The service request failed."),
            "OriginatorConversationID": self.originator_conversation_id,
            "ConversationID": self.conversation_id,
            "TransactionID": self.receipt or self.conversation_id[-10:],
            "ReferenceData": {"ReferenceItem": {"Key": "QueueTimeoutURL", "Value": self.queue_timeout_url}},
        }
        if self.result_code == 0:
            result["ResultParameters"] = {
                "ResultParameter": [
                    {"Key": "TransactionAmount", "Value": self.amount},
                    {"Key": "TransactionReceipt", "Value": self.receipt},
                    {"Key": "ReceiverPartyPublicName", "Value": f"{self.phone} - Simulated Customer"},
                    {"Key": "TransactionCompletedDateTime", "Value": nairobi_now().strftime("%d.%m.%Y %H:%M:%S")},
                    {"Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y"},
                ]
            }
        return {"Result": result}

    def timeout_body(self) -> dict[str, Any]:
        return {
            "Result": {
                "ResultType": 1,
                "ResultCode": "SVC0403",
                "ResultDesc": "The request timed out in the queue",
                "OriginatorConversationID": self.originator_conversation_id,
                "ConversationID": self.conversation_id,
            }
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "OriginatorConversationID": self.originator_conversation_id,
            "ConversationID": self.conversation_id,
            "Amount": self.amount,
            "PartyA": self.party_a,
            "PartyB": self.phone,
            "ResultCode": self.result_code,
            "queue_timeout": self.queue_timeout,
            "result_lost": self.result_lost,
            "TransactionReceipt": self.receipt,
            "deliveries": list(self.deliveries),
        }


class Payouts:
    """Every B2C payout the simulator accepted, by OriginatorConversationID."""

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self.by_originator: dict[str, Payout] = {}
        self.paid_total = 0

    def request(self, body: Any) -> tuple[Payout, bool]:
        """Validate a payment request; returns the payout and whether it is new (a repeat pays nothing)."""
        if not isinstance(body, dict):
            raise bad_request("JSON")
        originator = body.get("OriginatorConversationID")
        if not isinstance(originator, str) or not 1 <= len(originator) <= 100:
            raise bad_request("OriginatorConversationID")
        for name in ("InitiatorName", "SecurityCredential"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise bad_request(name)
        if body.get("CommandID") not in COMMAND_IDS:
            raise bad_request("CommandID")
        amount = whole_amount(body.get("Amount"))
        if amount is None:
            raise bad_request("Amount")
        party_a = digits_of(body.get("PartyA"))
        if party_a is None:
            raise bad_request("PartyA")
        payee = phone_of(body.get("PartyB"))
        if payee is None:
            raise bad_request("PartyB")
        for name in ("ResultURL", "QueueTimeOutURL"):
            if not valid_callback_url(body.get(name)):
                raise bad_request(name)
        with self._lock:
            seen = self.by_originator.get(originator)
            if seen is not None:
                return seen, False
            fails = payee.endswith(FAILS)
            payout = Payout(
                originator_conversation_id=originator,
                conversation_id=f"AG_{nairobi_now():%Y%m%d}_{secrets.token_hex(10)}",
                amount=amount,
                party_a=party_a,
                phone=payee,
                result_url=str(body["ResultURL"]),
                queue_timeout_url=str(body["QueueTimeOutURL"]),
                result_code=2040 if fails else 0,
                queue_timeout=payee.endswith(QUEUE_TIMEOUT),
                receipt=None if fails else new_receipt(),
                result_lost=payee.endswith(RESULT_LOST),
                created_at=datetime.now(UTC),
            )
            self.by_originator[originator] = payout
            if payout.result_code == 0 and not payout.queue_timeout:
                self.paid_total += amount
            return payout, True

    def status_query(
        self, body: Any, other: OtherTransactions | None = None
    ) -> tuple[dict[str, str], str, dict[str, Any]]:
        """Transaction Status: the synchronous acceptance, then (ResultURL, the result to POST there).

        `other(TransactionID, PartyA)` gives the ResultParameters of a transaction that is not a payout (C2B), or
        None; it is asked only when no payout matches."""
        if not isinstance(body, dict):
            raise bad_request("JSON")
        for name in ("Initiator", "SecurityCredential"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise bad_request(name)
        if body.get("CommandID") != "TransactionStatusQuery":
            raise bad_request("CommandID")
        if digits_of(body.get("PartyA")) is None:
            raise bad_request("PartyA")
        if str(body.get("IdentifierType")) not in ("1", "2", "4"):
            raise bad_request("IdentifierType")
        for name in ("ResultURL", "QueueTimeOutURL"):
            if not valid_callback_url(body.get(name)):
                raise bad_request(name)
        original, receipt = body.get("OriginalConversationID"), body.get("TransactionID")
        if not (isinstance(original, str) and original.strip()) and not (isinstance(receipt, str) and receipt.strip()):
            raise bad_request("TransactionID")
        with self._lock:
            payout = self.by_originator.get(original) if isinstance(original, str) else None
            if payout is None and isinstance(receipt, str) and receipt.strip():
                payout = next((p for p in self.by_originator.values() if p.receipt == receipt.strip()), None)
        found = None
        if payout is None and other is not None and isinstance(receipt, str) and receipt.strip():
            found = other(receipt.strip(), str(digits_of(body["PartyA"])))
        answer = {"OriginatorConversationID": f"{secrets.randbelow(10**5)}-{secrets.randbelow(10**8)}-1",
                  "ConversationID": f"AG_{nairobi_now():%Y%m%d}_{secrets.token_hex(10)}",
                  "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully."}
        result: dict[str, Any] = {"ResultType": 0, "OriginatorConversationID": answer["OriginatorConversationID"],
                                  "ConversationID": answer["ConversationID"],
                                  "TransactionID": (receipt if isinstance(receipt, str) else "") or ""}
        if found is not None:
            result.update(ResultCode=0, ResultDesc="The service request is processed successfully.",
                          ResultParameters={"ResultParameter": found})
        elif payout is None or payout.queue_timeout:
            result.update(ResultCode=NOT_FOUND, ResultDesc="The transaction was not found.")
        else:
            status = "Completed" if payout.result_code == 0 else "Failed"
            result.update(ResultCode=0, ResultDesc="The service request is processed successfully.",
                          ResultParameters={"ResultParameter": [
                              {"Key": "ReceiptNo", "Value": payout.receipt or ""},
                              {"Key": "TransactionStatus", "Value": status},
                              {"Key": "Amount", "Value": payout.amount},
                              {"Key": "ReasonType", "Value": "Business Payment to Customer via API"},
                              {"Key": "OriginatorConversationID", "Value": payout.originator_conversation_id},
                              {"Key": "ConversationID", "Value": payout.conversation_id},
                              {"Key": "CreditPartyName", "Value": f"{payout.phone} - Simulated Customer"},
                          ]})
        return answer, str(body["ResultURL"]), {"Result": result}

    def get(self, originator: str) -> Payout | None:
        with self._lock:
            return self.by_originator.get(originator)

    def all(self) -> list[Payout]:
        with self._lock:
            return sorted(self.by_originator.values(), key=lambda p: p.created_at)

    def record_delivery(self, payout: Payout, record: dict[str, Any]) -> None:
        with self._lock:
            payout.deliveries.append(record)

