"""Kenyan mobile numbers as the public contract accepts them (07XXXXXXXX, 01XXXXXXXX, +2547XXXXXXXX, 2547XXXXXXXX,
and the same with 1, spaces and dashes allowed) and stores them (2547XXXXXXXX / 2541XXXXXXXX): one rule for every
service that takes a customer's number."""

from __future__ import annotations

import re

# ASCII digits only: \d also takes other scripts' digits, which no database row nor M-PESA accepts.
_KENYAN_MOBILE = re.compile(r"^(?:\+?254|0)([17][0-9]{8})$")
SEPARATORS = re.compile(r"[\s-]")


def kenyan_mobile(value: str) -> str | None:
    """The number in its stored form, or None when it is not a Kenyan mobile number."""
    match = _KENYAN_MOBILE.match(SEPARATORS.sub("", value))
    return None if match is None else "254" + match.group(1)
