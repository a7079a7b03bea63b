"""What Daraja POSTs to us (STK callbacks, B2C results), parsed without ever raising; Kenyan phone numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from jeshkit.mpesa import parse_stk_timestamp

MAX_AMOUNT = 250_000
_PHONE = re.compile(r"254[17][0-9]{8}")


@dataclass(frozen=True)
class StkCallback:
    """The parts of a `Body.stkCallback` we use; CallbackMetadata items read by Name."""

    checkout_request_id: str
    merchant_request_id: str | None
    result_code: int
    result_desc: str
    amount: Decimal | None = None
    receipt: str | None = None
    phone_number: str | None = None
    transaction_date: datetime | None = None


@dataclass(frozen=True)
class B2cResult:
    """The parts of a B2C `Result` we use (ResultParameters read by Key)."""

    originator_conversation_id: str
    conversation_id: str | None
    result_code: int
    result_desc: str
    receipt: str | None
    amount: Decimal | None


@dataclass(frozen=True)
class B2cStatus:
    """A Transaction Status result for a payout: the payout's own OriginatorConversationID when told, its
    `TransactionStatus` (`Completed`, `Failed`…; None when M-PESA found no such transaction), its receipt."""

    result_code: int
    originator_conversation_id: str | None
    status: str | None
    receipt: str | None
    amount: Decimal | None = None
    debit_party: str | None = None  # "254708374149 - JOHN DOE" for a customer's payment


@dataclass(frozen=True)
class C2bNotice:
    """A Paybill payment as M-PESA's validation or confirmation request tells it (the C2B body)."""

    trans_id: str
    amount: Decimal | None
    shortcode: str
    account: str
    msisdn: str | None
    payer_name: str | None
    paid_at: datetime | None


@dataclass(frozen=True)
class PulledPayment:
    """A customer's payment to the shortcode as Pull Transactions lists it (trusted no more than a confirmation)."""

    trans_id: str
    amount: Decimal | None
    account: str
    msisdn: str | None
    paid_at: datetime | None


T = TypeVar("T")


def parse_body(raw: bytes, parser: Callable[[Any], T | None]) -> T | None:
    """A body Daraja posted, as `parser` reads it; None when it is not JSON or not that document."""
    try:
        return parser(json.loads(raw))
    except (ValueError, RecursionError):
        return None


def normalize_phone(raw: object) -> str | None:
    """Kenyan mobile numbers (07…, 01…, +2547…, 2547…, 7…) as 2547XXXXXXXX / 2541XXXXXXXX; None if not one."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    digits = re.sub(r"[\s\-()]", "", str(raw)).removeprefix("+")
    if re.fullmatch(r"0[17][0-9]{8}", digits):
        digits = "254" + digits[1:]
    elif re.fullmatch(r"[17][0-9]{8}", digits):
        digits = "254" + digits
    return digits if _PHONE.fullmatch(digits) else None


def parse_stk_callback(raw: Any) -> StkCallback | None:
    """The callback Daraja POSTs, or None when the body is not one (never raises)."""
    try:
        callback = raw["Body"]["stkCallback"]
        checkout_request_id = callback["CheckoutRequestID"]
        result_code = as_int(callback["ResultCode"])
    except (KeyError, TypeError, IndexError):
        return None
    if not isinstance(checkout_request_id, str) or not 0 < len(checkout_request_id) <= 100 or result_code is None:
        return None
    merchant_request_id = callback.get("MerchantRequestID")
    result_desc = callback.get("ResultDesc")
    items: dict[str, Any] = {}
    metadata = callback.get("CallbackMetadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("Item"), list):
        for item in metadata["Item"]:
            if isinstance(item, dict) and isinstance(item.get("Name"), str):
                items[item["Name"]] = item.get("Value")  # Balance may come without a Value
    receipt = items.get("MpesaReceiptNumber")
    phone = items.get("PhoneNumber")
    return StkCallback(
        checkout_request_id=checkout_request_id,
        merchant_request_id=merchant_request_id if isinstance(merchant_request_id, str) else None,
        result_code=result_code,
        result_desc=str(result_desc)[:500] if result_desc is not None else "",
        amount=as_decimal(items.get("Amount")),
        receipt=receipt.strip()[:40] if isinstance(receipt, str) and receipt.strip() else None,
        phone_number=str(phone) if isinstance(phone, int | str) and not isinstance(phone, bool) else None,
        transaction_date=_as_daraja_time(items.get("TransactionDate")),
    )


def parse_b2c_result(raw: Any) -> B2cResult | None:
    """The B2C result Daraja POSTs to ResultURL, or None when the body is not one (never raises)."""
    try:
        result = raw["Result"]
        originator = result["OriginatorConversationID"]
        result_code = as_int(result["ResultCode"])
    except (KeyError, TypeError, IndexError):
        return None
    if not isinstance(originator, str) or not 0 < len(originator) <= 100 or result_code is None:
        return None
    parameters = _result_parameters(result)
    receipt = parameters.get("TransactionReceipt") or result.get("TransactionID")
    conversation = result.get("ConversationID")
    return B2cResult(
        originator_conversation_id=originator,
        conversation_id=conversation if isinstance(conversation, str) else None,
        result_code=result_code,
        result_desc=str(result.get("ResultDesc") or "")[:500],
        receipt=receipt.strip()[:40] if isinstance(receipt, str) and receipt.strip() else None,
        amount=as_decimal(parameters.get("TransactionAmount")),
    )


def parse_b2c_status(raw: Any) -> B2cStatus | None:
    """A Transaction Status result POSTed to its ResultURL, or None when the body is not one (never raises)."""
    result = raw.get("Result") if isinstance(raw, dict) else None
    result_code = as_int(result.get("ResultCode")) if isinstance(result, dict) else None
    if not isinstance(result, dict) or result_code is None:
        return None
    parameters = _result_parameters(result)

    def text(key: str) -> str | None:
        value = parameters.get(key)
        return value.strip()[:100] if isinstance(value, str) and value.strip() else None

    return B2cStatus(result_code=result_code, originator_conversation_id=text("OriginatorConversationID"),
                     status=text("TransactionStatus") if result_code == 0 else None, receipt=text("ReceiptNo"),
                     amount=as_decimal(parameters.get("Amount")), debit_party=text("DebitPartyName"))


def parse_c2b(raw: Any) -> C2bNotice | None:
    """M-PESA's C2B validation or confirmation body, or None when it is not one (never raises)."""
    if not isinstance(raw, dict):
        return None

    def text(key: str, limit: int) -> str:
        value = raw.get(key)
        return "" if isinstance(value, bool) or not isinstance(value, str | int) else str(value).strip()[:limit]

    trans_id, shortcode = text("TransID", 40), text("BusinessShortCode", 20)
    if not trans_id or not shortcode:
        return None
    names = " ".join(part for part in (text("FirstName", 60), text("MiddleName", 60), text("LastName", 60)) if part)
    return C2bNotice(
        trans_id=trans_id, amount=as_decimal(raw.get("TransAmount")), shortcode=shortcode,
        account=text("BillRefNumber", 40), msisdn=text("MSISDN", 40) or None, payer_name=names or None,
        paid_at=_as_daraja_time(text("TransTime", 14)),
    )


def parse_pulled(raw: Any) -> list[PulledPayment] | None:
    """Pull Transactions' answer: the C2B payments it lists (`Response`: a list of lists of transactions; ResponseCode
    1001 and `[[]]` when there are none), or None when the body is not such an answer (never raises)."""
    if not isinstance(raw, dict) or str(raw.get("ResponseCode")) not in ("1000", "1001"):
        return None
    listed = raw.get("Response", raw.get("Transaction"))
    if isinstance(listed, str):  # the documentation shows "[[]]" as text for an empty period
        listed = [] if listed.strip() in ("", "[]", "[[]]") else None
    if not isinstance(listed, list):
        return None
    rows = [row for item in listed for row in (item if isinstance(item, list) else [item])]
    pulled = []
    for row in rows:
        if not isinstance(row, dict) or not str(row.get("transactiontype") or "").startswith("c2b-"):
            continue
        trans_id = row.get("transactionId")
        if not isinstance(trans_id, str) or not trans_id.strip():
            continue
        msisdn, account = row.get("msisdn"), row.get("billreference")
        pulled.append(PulledPayment(
            trans_id=trans_id.strip()[:40], amount=as_decimal(row.get("amount")),
            account=str(account).strip()[:40] if isinstance(account, str | int) else "",
            msisdn=str(msisdn)[:40] if isinstance(msisdn, str | int) and not isinstance(msisdn, bool) else None,
            paid_at=_as_iso_time(row.get("trxDate")),
        ))
    return pulled


def _as_iso_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def phone_of_party(party: str | None) -> str | None:
    """The number in a Transaction Status party name ("254708374149 - JOHN DOE"), or None."""
    return normalize_phone(party.split(" - ", 1)[0].strip()) if party else None


def _result_parameters(result: dict[str, Any]) -> dict[str, Any]:
    """`ResultParameters.ResultParameter` as a dict by Key (a single parameter arrives as an object)."""
    parameters: dict[str, Any] = {}
    listed = result.get("ResultParameters")
    entries = listed.get("ResultParameter") if isinstance(listed, dict) else None
    if isinstance(entries, dict):
        entries = [entries]
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("Key"), str):
            parameters[entry["Key"]] = entry.get("Value")
    return parameters


def parse_b2c_timeout(raw: Any) -> str | None:
    """The OriginatorConversationID of a request that timed out in Daraja's queue (QueueTimeOutURL)."""
    for container in (raw.get("Result") if isinstance(raw, dict) else None, raw):
        if isinstance(container, dict) and isinstance(container.get("OriginatorConversationID"), str):
            return str(container["OriginatorConversationID"])[:100]
    return None


_INT32 = range(-(2**31), 2**31)  # a result code, as every table keeps it (integer)


def as_int(value: Any) -> int | None:
    """A result or status code as sent (a number, or its digits in a string); None for anything else, or a number no
    such code can be (beyond a 32-bit integer: a forged or broken body, not a code to keep)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,9}", value.strip()):
        value = int(value.strip())
    return value if isinstance(value, int) and value in _INT32 else None


_AMOUNTS = Decimal(2**31)  # every amount column is an integer; no sum of KES a provider sends comes near it


def as_decimal(value: Any) -> Decimal | None:
    """An amount as a provider sends it (a number or its text), or None for anything else: not finite, or beyond
    any amount a table keeps. The bound comes first: converting "1E+100000" to an int, as comparing it with whole
    shillings does, holds the interpreter for seconds (25 s here) for a body of a few bytes."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and -_AMOUNTS < amount < _AMOUNTS else None


def whole_shillings(amount: Decimal | None) -> int | None:
    """An amount as money we can keep, pay back or apply: whole shillings above 0; None for anything else."""
    return int(amount) if amount is not None and amount > 0 and amount == amount.to_integral_value() else None


def _as_daraja_time(value: Any) -> datetime | None:
    """TransactionDate (a number YYYYMMDDHHmmss, Nairobi time) as an aware UTC datetime."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"[0-9]{14}", text):
        return None
    try:
        return parse_stk_timestamp(text)
    except ValueError:
        return None
