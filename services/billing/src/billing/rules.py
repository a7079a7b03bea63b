"""The billing rules as plain functions of dates and numbers (no database, no framework)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from jeshkit.clock import NAIROBI

STAGE_ORDER = ("current", "late", "locked_out", "lien")


@dataclass(frozen=True)
class Rules:
    """The ladder's knobs (BILLING_* settings)."""

    lead_days: int = 7
    reminder_days_before: int = 3
    grace_days: int = 5
    late_fee: int = 500
    lockout_days: int = 10
    lien_days: int = 45
    autopay_retry_days: int = 2


def today_in_nairobi(now: datetime | None = None) -> date:
    return (now or datetime.now(NAIROBI)).astimezone(NAIROBI).date()


def anniversary(start: date, months: int, billing_day: int) -> date:
    """The period start `months` after `start`'s month, on billing_day clamped to that month's last day
    (a rental starting on the 31st is billed on 28/29 February, 30 April, 31 May...)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(billing_day, calendar.monthrange(year, month)[1]))


def period_after(period_start: date, billing_day: int) -> date:
    """The start of the period after the one starting on period_start."""
    return anniversary(period_start, 1, billing_day)


def period_end(period_start: date, billing_day: int) -> date:
    """The last day (inclusive) of the period starting on period_start."""
    return period_after(period_start, billing_day) - timedelta(days=1)


def issue_date(period_start: date, rules: Rules) -> date:
    return period_start - timedelta(days=rules.lead_days)


def stage_for(days_past_due: int, rules: Rules) -> str:
    """The delinquency stage of a rental whose oldest unpaid invoice is this many days past due."""
    if days_past_due >= rules.lien_days:
        return "lien"
    if days_past_due >= rules.lockout_days:
        return "locked_out"
    if days_past_due >= rules.grace_days:
        return "late"
    return "current"


def access_for(stage: str) -> str:
    return "suspended" if stage in ("locked_out", "lien") else "active"


def is_worse(stage: str, than: str) -> bool:
    return STAGE_ORDER.index(stage) > STAGE_ORDER.index(than)


def aging_bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
