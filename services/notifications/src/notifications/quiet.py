"""Quiet hours (NOTIFY_QUIET_HOURS, Nairobi time): when reminders wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from jeshkit.clock import NAIROBI


@dataclass(frozen=True)
class QuietHours:
    """A daily window [start, end) in Nairobi time, possibly across midnight; None: no quiet hours."""

    start: time | None = None
    end: time | None = None

    @classmethod
    def parse(cls, spec: str) -> QuietHours:
        spec = spec.strip()
        if not spec:
            return cls()
        first, _, last = spec.partition("-")
        return cls(start=time.fromisoformat(first.strip()), end=time.fromisoformat(last.strip()))

    def contains(self, moment: datetime) -> bool:
        if self.start is None or self.end is None or self.start == self.end:
            return False
        local = moment.astimezone(NAIROBI).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` itself outside quiet hours, else the moment they end."""
        if not self.contains(moment):
            return moment
        assert self.end is not None
        local = moment.astimezone(NAIROBI)
        end = datetime.combine(local.date(), self.end, tzinfo=NAIROBI)
        if end <= local:
            end += timedelta(days=1)
        return end


NO_QUIET_HOURS = QuietHours()
