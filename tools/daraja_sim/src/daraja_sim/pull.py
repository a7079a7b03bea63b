"""Simulated Pull Transactions (reconciliation: the C2B payments made to a shortcode in the last 48 hours), in memory.

`POST /pulltransactions/v1/register` registers a shortcode for Pull once (a second time: ResponseStatus 1001, the
first registration stays); `POST /pulltransactions/v1/query` (also GET with the same JSON body, as one page of the
documentation has it) lists the shortcode's completed C2B payments whose completion time, to the second, lies in
[StartDate, EndDate] (Nairobi time, "YYYY-MM-DD H:MM[:SS]") and within the last 48 hours, oldest first, a page of
`DARAJA_SIM_PULL_PAGE_SIZE` rows from row OffSetValue. Payments whose confirmation was lost are listed: recovering
them is what the API is for. Rejected and pending payments never are.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from daraja_sim.c2b import C2B, C2BPayment
from daraja_sim.settings import SimSettings
from daraja_sim.wire import DarajaError, bad_request, digits_of, valid_callback_url
from jeshkit.mpesa import DARAJA_TIME

REQUEST_TYPE = "Pull"
NOMINATED_NUMBER = re.compile(r"^(?:0|254)[17]\d{8}$")  # 0722000000 as documented, or 254722000000
DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{1,2}):(\d{2})(?::(\d{2}))?$")
LOOKBACK = timedelta(hours=48)
TRANSACTION_TYPES = {"Pay Bill": "c2b-pay-bill-debit", "Buy Goods": "c2b-buy-goods-debit"}
ORGANIZATION_NAME = "Jesh Storage"


def unregistered() -> DarajaError:
    return DarajaError("400.001", "Invalid ShortCode")


def parse_date(value: Any, what: str) -> datetime:
    """A Pull date ("2020-08-04 8:36:00" or "2020-08-04 08:36"), Nairobi time; 400 when it is not one."""
    match = DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise bad_request(what)
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=DARAJA_TIME)
    except ValueError:  # 2020-02-30, 25:00 ...
        raise bad_request(what) from None


@dataclass(frozen=True)
class PullRegistration:
    short_code: str
    nominated_number: str
    callback_url: str
    response_ref_id: str
    registered_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {"ShortCode": self.short_code, "NominatedNumber": self.nominated_number,
                "CallBackURL": self.callback_url, "ResponseRefID": self.response_ref_id,
                "registered_at": self.registered_at.isoformat()}


def completed_at(payment: C2BPayment) -> datetime:
    """When the money moved, to the second (as trxDate shows it and the window compares it)."""
    return (payment.finalised_at or payment.trans_time).replace(microsecond=0)


def row(payment: C2BPayment) -> dict[str, Any]:
    """One payment as the query lists it."""
    return {
        "transactionId": payment.trans_id,
        "trxDate": completed_at(payment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "msisdn": int(payment.phone),
        "sender": "UNKNOWN",
        "transactiontype": TRANSACTION_TYPES[payment.transaction_type],
        "billreference": payment.bill_ref_number,
        "amount": str(float(payment.amount)),  # a decimal string, as in the documentation's "233.8"
        "organizationname": ORGANIZATION_NAME,
    }


class Pull:
    """Shortcodes registered for Pull; queries read the C2B payments."""

    def __init__(self, settings: SimSettings, c2b: C2B) -> None:
        self.settings = settings
        self.c2b = c2b
        self._lock = threading.Lock()
        self.registrations: dict[str, PullRegistration] = {}
        self.stats = {"pull_registrations": 0, "pull_queries": 0}

    def register(self, body: Any) -> dict[str, str]:
        """Register a shortcode for Pull (once); Daraja's answer."""
        if not isinstance(body, dict):
            raise bad_request("JSON")
        short_code = digits_of(body.get("ShortCode"))
        if short_code is None:
            raise bad_request("ShortCode")
        if body.get("RequestType") != REQUEST_TYPE:
            raise bad_request("RequestType")
        number = digits_of(body.get("NominatedNumber"))
        if number is None or not NOMINATED_NUMBER.fullmatch(number):
            raise bad_request("NominatedNumber")
        if not valid_callback_url(body.get("CallBackURL")):
            raise bad_request("CallBackURL")
        with self._lock:
            if short_code in self.registrations:
                return {"ResponseRefID": str(uuid.uuid4()), "ResponseStatus": "1001", "ShortCode": short_code,
                        "ResponseDescription": "ShortCode already Registered"}
            registration = PullRegistration(short_code, number, body["CallBackURL"], str(uuid.uuid4()),
                                            datetime.now(UTC))
            self.registrations[short_code] = registration
            self.stats["pull_registrations"] += 1
        return {"ResponseRefID": registration.response_ref_id, "ResponseStatus": "1000", "ShortCode": short_code,
                "ResponseDescription": "Shortcode Registered Successfully"}

    def query(self, body: Any, now: datetime | None = None) -> dict[str, Any]:
        """One page of the shortcode's completed C2B payments in the window; Daraja's answer."""
        if not isinstance(body, dict):
            raise bad_request("JSON")
        short_code = digits_of(body.get("ShortCode"))
        if short_code is None:
            raise bad_request("ShortCode")
        start = parse_date(body.get("StartDate"), "StartDate")
        end = parse_date(body.get("EndDate"), "EndDate")
        if end < start:
            raise bad_request("EndDate")
        offset = digits_of(body.get("OffSetValue"))
        if offset is None:
            raise bad_request("OffSetValue")
        with self._lock:
            if short_code not in self.registrations:
                raise unregistered()
            self.stats["pull_queries"] += 1
        oldest = (now or datetime.now(UTC)) - LOOKBACK
        listed = [p for p in self.c2b.completed(short_code) if start <= completed_at(p) <= end
                  and completed_at(p) >= oldest]
        first = int(offset)
        page = [row(p) for p in listed[first:first + self.settings.pull_page_size]]
        if not page:
            return {"ResponseRefID": str(uuid.uuid4()), "ResponseCode": "1001",
                    "ResponseMessage": "No transactions available for the selected time period", "Response": [[]]}
        return {"ResponseRefID": str(uuid.uuid4()), "ResponseCode": "1000", "ResponseMessage": "Success",
                "Response": [page]}

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"registrations": [r.to_dict() for r in self.registrations.values()]}
