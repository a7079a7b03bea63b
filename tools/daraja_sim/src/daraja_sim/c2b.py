"""Simulated C2B (customers paying the paybill from their phone's M-PESA menu), in memory.

`POST /mpesa/c2b/v2/registerurl` registers a shortcode's ConfirmationURL and ValidationURL (again: overwrites, as
the sandbox does); `POST /mpesa/c2b/v2/simulate` is a customer paying. app.py then, after the callback delay, asks
the ValidationURL (external validation, `DARAJA_SIM_C2B_VALIDATION`), and for an accepted payment POSTs the
confirmation to the ConfirmationURL. A validation answer whose ResultCode is not 0 rejects the payment (it never
happened: no money, no confirmation, Transaction Status does not find it); an unusable one (unreachable, timeout,
not 2xx, not JSON with a ResultCode) applies the registered ResponseType: `Completed` goes on, `Cancelled` rejects.

The paying phone's last four digits `0000`: completed, but the confirmation is lost (only Transaction Status and
the admin resend tell). Transaction Status finds a completed C2B payment by its TransID when PartyA is its shortcode.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from daraja_sim.settings import SimSettings
from daraja_sim.wire import (
    bad_request,
    digits_of,
    nairobi_now,
    new_receipt,
    new_request_id,
    phone_of,
    valid_callback_url,
    whole_amount,
)
from jeshkit.mpesa import TIMESTAMP_FORMAT

COMMAND_IDS = {"CustomerPayBillOnline": "Pay Bill", "CustomerBuyGoodsOnline": "Buy Goods"}
REASON_TYPES = {"Pay Bill": "Pay Bill Online", "Buy Goods": "Buy Goods Online"}
RESPONSE_TYPES = ("Completed", "Cancelled")
CONFIRMATION_LOST = "0000"
MAX_BILL_REF_LENGTH = 20
FIRST_NAMES = ("JOHN", "MARY", "PETER", "GRACE", "JAMES", "FAITH", "DAVID", "MERCY")
LAST_NAMES = ("DOE", "WANJIKU", "OTIENO", "MWANGI", "KAMAU", "ACHIENG", "KIPROP", "NJERI")
PENDING, COMPLETED, REJECTED = "pending", "completed", "rejected"


@dataclass(frozen=True)
class Registration:
    short_code: str
    response_type: str
    confirmation_url: str
    validation_url: str
    registered_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {"ShortCode": self.short_code, "ResponseType": self.response_type,
                "ConfirmationURL": self.confirmation_url, "ValidationURL": self.validation_url,
                "registered_at": self.registered_at.isoformat()}


@dataclass
class C2BPayment:
    """One customer payment to a shortcode and what became of it."""

    trans_id: str
    originator_conversation_id: str
    conversation_id: str
    transaction_type: str  # "Pay Bill" | "Buy Goods"
    trans_time: datetime  # Nairobi time
    amount: int
    short_code: str
    bill_ref_number: str
    phone: str
    registration: Registration  # as registered when the customer paid
    validates: bool  # external validation on when the customer paid
    confirmation_lost: bool
    status: str = PENDING
    result_code: str = ""  # the validation's refusal, or "ResponseType Cancelled"
    org_account_balance: int = 0  # the shortcode's balance after this payment
    finalised_at: datetime | None = None
    validation: dict[str, Any] | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def names(self) -> tuple[str, str, str]:
        """First, middle and last name, derived from the number (the same number, the same name)."""
        n = int.from_bytes(hashlib.sha256(self.phone.encode()).digest()[:4], "big")
        return FIRST_NAMES[n % len(FIRST_NAMES)], "", LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]

    def body(self, *, validation: bool) -> dict[str, str]:
        """What M-PESA POSTs to the ValidationURL (blank OrgAccountBalance) or the ConfirmationURL."""
        first, middle, last = self.names
        return {
            "TransactionType": self.transaction_type,
            "TransID": self.trans_id,
            "TransTime": self.trans_time.strftime(TIMESTAMP_FORMAT),
            "TransAmount": f"{self.amount:.2f}",
            "BusinessShortCode": self.short_code,
            "BillRefNumber": self.bill_ref_number,
            "InvoiceNumber": "",
            "OrgAccountBalance": "" if validation else f"{self.org_account_balance:.2f}",
            "ThirdPartyTransID": "",
            "MSISDN": f"{self.phone[:4]} ***** {self.phone[-3:]}",
            "FirstName": first,
            "MiddleName": middle,
            "LastName": last,
        }

    def status_parameters(self) -> list[dict[str, Any]]:
        """Transaction Status's ResultParameters for this (completed) payment."""
        first, _, last = self.names
        finalised = self.finalised_at or self.trans_time
        return [
            {"Key": "ReceiptNo", "Value": self.trans_id},
            {"Key": "TransactionStatus", "Value": "Completed"},
            {"Key": "Amount", "Value": self.amount},
            {"Key": "ReasonType", "Value": REASON_TYPES[self.transaction_type]},
            {"Key": "DebitPartyName", "Value": f"{self.phone} - {first} {last}"},
            {"Key": "CreditPartyName", "Value": f"{self.short_code} - Jesh Storage"},
            {"Key": "InitiatedTime", "Value": int(self.trans_time.strftime(TIMESTAMP_FORMAT))},
            {"Key": "FinalisedTime", "Value": int(finalised.strftime(TIMESTAMP_FORMAT))},
            {"Key": "OriginatorConversationID", "Value": self.originator_conversation_id},
            {"Key": "ConversationID", "Value": self.conversation_id},
        ]

    def to_dict(self) -> dict[str, Any]:
        """The admin view (not a Daraja shape)."""
        return {
            **self.body(validation=self.status != COMPLETED),
            "OriginatorCoversationID": self.originator_conversation_id,
            "PhoneNumber": self.phone,
            "Amount": self.amount,
            "status": self.status,
            "ResultCode": self.result_code,
            "validates": self.validates,
            "validation": self.validation,
            "confirmation_lost": self.confirmation_lost,
            "ConfirmationURL": self.registration.confirmation_url,
            "deliveries": list(self.deliveries),
        }


class C2B:
    """Registered URLs by shortcode, every C2B payment by TransID, and each shortcode's balance."""

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self.registrations: dict[str, Registration] = {}
        self.payments: dict[str, C2BPayment] = {}
        self.balances: dict[str, int] = {}
        self.stats = {"c2b_registrations": 0, "c2b_payments": 0, "c2b_completed": 0, "c2b_rejected": 0,
                      "c2b_confirmations_sent": 0}

    def register(self, body: Any) -> dict[str, str]:
        """Register (or overwrite) a shortcode's URLs; Daraja's answer."""
        if not isinstance(body, dict):
            raise bad_request("JSON")
        short_code = digits_of(body.get("ShortCode"))
        if short_code is None:
            raise bad_request("ShortCode")
        if body.get("ResponseType") not in RESPONSE_TYPES:  # sentence case only, as Safaricom requires
            raise bad_request("ResponseType")
        for name in ("ConfirmationURL", "ValidationURL"):
            if not valid_callback_url(body.get(name)):
                raise bad_request(name)
        registration = Registration(short_code, body["ResponseType"], body["ConfirmationURL"], body["ValidationURL"],
                                    datetime.now(UTC))
        with self._lock:
            self.registrations[short_code] = registration
            self.stats["c2b_registrations"] += 1
        return {"OriginatorCoversationID": new_request_id(), "ResponseCode": "0", "ResponseDescription": "Success"}

    def simulate(self, body: Any) -> tuple[C2BPayment, dict[str, str]]:
        """A customer pays: validate like Daraja's C2B simulate; the payment (pending) and the answer."""
        if not isinstance(body, dict):
            raise bad_request("JSON")
        short_code = digits_of(body.get("ShortCode"))
        if short_code is None:
            raise bad_request("ShortCode")
        command = body.get("CommandID")
        transaction_type = COMMAND_IDS.get(command) if isinstance(command, str) else None
        if transaction_type is None:
            raise bad_request("CommandID")
        amount = whole_amount(body.get("Amount"))
        if amount is None:
            raise bad_request("Amount")
        phone = phone_of(body.get("Msisdn"))
        if phone is None:
            raise bad_request("Msisdn")
        bill_ref = body.get("BillRefNumber")
        if transaction_type == "Buy Goods":
            bill_ref = ""
        elif isinstance(bill_ref, int) and not isinstance(bill_ref, bool):
            bill_ref = str(bill_ref)
        if not isinstance(bill_ref, str) or len(bill_ref) > MAX_BILL_REF_LENGTH or (
            transaction_type == "Pay Bill" and not bill_ref.strip()
        ):
            raise bad_request("BillRefNumber")
        with self._lock:
            registration = self.registrations.get(short_code)
            if registration is None:  # no URLs registered: nowhere to tell the business
                raise bad_request("ShortCode")
            trans_id = new_receipt()
            while trans_id in self.payments:
                trans_id = new_receipt()
            payment = C2BPayment(
                trans_id=trans_id,
                originator_conversation_id=new_request_id(),
                conversation_id=f"AG_{nairobi_now():%Y%m%d}_{secrets.token_hex(10)}",
                transaction_type=transaction_type,
                trans_time=nairobi_now(),
                amount=amount,
                short_code=short_code,
                bill_ref_number=bill_ref,
                phone=phone,
                registration=registration,
                validates=self.settings.c2b_validation,
                confirmation_lost=phone.endswith(CONFIRMATION_LOST),
            )
            self.payments[trans_id] = payment
            self.stats["c2b_payments"] += 1
        answer = {"OriginatorCoversationID": payment.originator_conversation_id, "ResponseCode": "0",
                  "ResponseDescription": "Accept the service request successfully."}
        return payment, answer

    def validated(self, payment: C2BPayment, record: dict[str, Any]) -> bool:
        """Record the ValidationURL's answer (`record["answer"]`: its JSON, absent when unusable); True to go on."""
        answer = record.get("answer")
        code = answer.get("ResultCode") if isinstance(answer, dict) else None
        if code is None or isinstance(code, bool) or not isinstance(code, int | str):
            accepted = payment.registration.response_type == "Completed"
            record["outcome"] = f"no usable answer: ResponseType {payment.registration.response_type}"
            refusal = "" if accepted else "ResponseType Cancelled"
        else:
            accepted = str(code).strip() == "0"
            record["outcome"] = "accepted" if accepted else "rejected"
            refusal = "" if accepted else str(code)
        with self._lock:
            payment.validation = record
            if not accepted:
                self._reject(payment, refusal)
        return accepted

    def complete(self, payment: C2BPayment) -> None:
        """The money moves: the shortcode's balance grows; the confirmation may now be POSTed."""
        with self._lock:
            if payment.status != PENDING:
                return
            self.balances[payment.short_code] = self.balances.get(payment.short_code, 0) + payment.amount
            payment.org_account_balance = self.balances[payment.short_code]
            payment.status = COMPLETED
            payment.finalised_at = nairobi_now()
            self.stats["c2b_completed"] += 1

    def _reject(self, payment: C2BPayment, result_code: str) -> None:
        if payment.status == PENDING:
            payment.status, payment.result_code = REJECTED, result_code
            self.stats["c2b_rejected"] += 1

    def status_parameters(self, trans_id: str, party_a: str) -> list[dict[str, Any]] | None:
        """For Transaction Status: a completed payment to PartyA's shortcode, else None (never happened)."""
        with self._lock:
            payment = self.payments.get(trans_id)
        if payment is None or payment.status != COMPLETED or payment.short_code != party_a:
            return None
        return payment.status_parameters()

    def completed(self, short_code: str) -> list[C2BPayment]:
        """The shortcode's completed payments in completion order, oldest first (for Pull Transactions)."""
        with self._lock:
            done = [p for p in self.payments.values() if p.status == COMPLETED and p.short_code == short_code]
        return sorted(done, key=lambda p: p.finalised_at or p.trans_time)

    def record_delivery(self, payment: C2BPayment, record: dict[str, Any]) -> None:
        with self._lock:
            payment.deliveries.append(record)
            self.stats["c2b_confirmations_sent"] += 1

    def get(self, trans_id: str) -> C2BPayment | None:
        with self._lock:
            return self.payments.get(trans_id)

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            payments = sorted(self.payments.values(), key=lambda p: p.trans_time)
            registrations = [r.to_dict() for r in self.registrations.values()]
            balances = {code: f"{amount:.2f}" for code, amount in self.balances.items()}
        return {"registrations": registrations, "transactions": [p.to_dict() for p in payments],
                "balances": balances}
