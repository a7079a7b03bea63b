"""Kenyan time, defined once: the business's calendar days are Nairobi days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _nairobi() -> tzinfo:
    try:
        return ZoneInfo("Africa/Nairobi")
    except ZoneInfoNotFoundError:  # a slim image without tzdata: Kenya has been UTC+3 without DST since 1942
        return timezone(timedelta(hours=3), "EAT")


NAIROBI = _nairobi()


def nairobi_today(now: datetime | None = None) -> date:
    """Today's date in Nairobi (of `now`, default the current time)."""
    return (now or datetime.now(UTC)).astimezone(NAIROBI).date()
