"""Daraja's Lipa na M-PESA password and timestamp, built once for the payments service and the simulator."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from jeshkit.clock import NAIROBI as DARAJA_TIME  # Daraja's timestamps are Nairobi local time

TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"


def stk_timestamp(now: datetime | None = None) -> str:
    """`YYYYMMDDHHmmss` in Nairobi time, as Daraja wants it."""
    return (now or datetime.now(UTC)).astimezone(DARAJA_TIME).strftime(TIMESTAMP_FORMAT)


def parse_stk_timestamp(value: str) -> datetime:
    """A Daraja timestamp (Nairobi time) as an aware UTC datetime; ValueError when it is not one."""
    return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=DARAJA_TIME).astimezone(UTC)


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    """`Password` of STK Push and STK Push Query: base64(shortcode + passkey + timestamp)."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode()
