"""Input rules every service that takes them shares, as the public contract states them: calendar dates
(`YYYY-MM-DD`) and Kenyan mobile numbers (07XXXXXXXX, 01XXXXXXXX, +2547XXXXXXXX, 2547XXXXXXXX, and the same with 1,
spaces and dashes allowed; stored as 2547XXXXXXXX / 2541XXXXXXXX). Digits are ASCII digits: Python's \\d also takes
other scripts' digits, which no database row nor M-PESA accepts."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATE = re.compile(DATE_PATTERN)
_KENYAN_MOBILE = re.compile(r"^(?:\+?254|0)([17][0-9]{8})$")
SEPARATORS = re.compile(r"[\s-]")


def kenyan_mobile(value: str) -> str | None:
    """The number in its stored form, or None when it is not a Kenyan mobile number."""
    match = _KENYAN_MOBILE.match(SEPARATORS.sub("", value))
    return None if match is None else "254" + match.group(1)


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("Input should be a date in YYYY-MM-DD format")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("Input should be a valid calendar date") from None


# A date field of a request body: exactly YYYY-MM-DD (a datetime or a number is refused), a real calendar day.
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
