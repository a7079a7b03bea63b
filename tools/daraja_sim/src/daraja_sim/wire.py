"""Daraja's wire format as the simulator checks it: error answers, field validators, credentials."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import string
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jeshkit.mpesa import DARAJA_TIME

PHONE_PATTERN = re.compile(r"^254[17]\d{8}$")
# Safaricom refuses callback URLs containing these words.
FORBIDDEN_CALLBACK_WORDS = ("mpesa", "m-pesa", "safaricom", "exe", "cmd", "sql", "query")
MAX_AMOUNT = 250_000


class DarajaError(Exception):
    """An error answer in Daraja's shape; the HTTP status is the code's first part (400, 404, 500)."""

    def __init__(self, error_code: str, error_message: str) -> None:
        super().__init__(f"{error_code} {error_message}")
        self.error_code = error_code
        self.error_message = error_message

    @property
    def http_status(self) -> int:
        return int(self.error_code.split(".", 1)[0])

    def body(self) -> dict[str, str]:
        return {"requestId": new_request_id(), "errorCode": self.error_code, "errorMessage": self.error_message}


def bad_request(what: str) -> DarajaError:
    return DarajaError("400.002.02", f"Bad Request - Invalid {what}")


def new_request_id() -> str:
    return f"{secrets.randbelow(90000) + 10000}-{secrets.randbelow(90_000_000) + 10_000_000}-1"


def new_receipt() -> str:
    """A fresh M-PESA receipt number: ten upper-case letters and digits, the first a letter (e.g. RKL51ZDR4F)."""
    alphabet = string.ascii_uppercase + string.digits
    return secrets.choice(string.ascii_uppercase) + "".join(secrets.choice(alphabet) for _ in range(9))


def nairobi_now() -> datetime:
    return datetime.now(DARAJA_TIME)


def basic_credentials(authorization: str | None) -> tuple[str, str]:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    key, _, secret = decoded.partition(":")
    return key, secret


def digits_of(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return value
    return None


def phone_of(value: Any) -> str | None:
    digits = digits_of(value)
    return digits if digits is not None and PHONE_PATTERN.fullmatch(digits) else None


def whole_amount(value: Any) -> int | None:
    """Whole shillings only: an int or a string of digits, 1..250000; a decimal (even 10.0) is refused."""
    digits = digits_of(value)
    if digits is None:
        return None
    amount = int(digits)
    return amount if 1 <= amount <= MAX_AMOUNT else None


def valid_callback_url(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 2048:
        return False
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    lowered = value.lower()
    return not any(word in lowered for word in FORBIDDEN_CALLBACK_WORDS)
