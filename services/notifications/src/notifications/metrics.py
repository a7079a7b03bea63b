"""Messages that do not go out, read from notifications' database at every scrape (a scrape reader of its app): a
message whose send failed waits for its next attempt (NOTIFY_RETRY_*); many of them, or one waiting long, means
the SMS or e-mail provider is refusing or unreachable (alert NotificationsNotGoingOut, deploy/monitoring/alerts.yml).
A message held for the quiet hours has no failed attempt and is not counted. Each replica reports the same figures:
the rules take the max by service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from jeshkit import metrics
from notifications.models import CHANNELS

RETRYING = metrics.gauge("notifications_retrying", "Queued messages whose last send failed, by channel", ["channel"])
RETRYING_OLDEST_AGE = metrics.gauge("notifications_retrying_oldest_age_seconds",
                                    "How long ago the oldest of them was written, by channel (0: none)", ["channel"])

# From the partial index of queued messages (ix_notifications_due).
_RETRYING = text("""
SELECT channel, count(*), EXTRACT(EPOCH FROM now() - min(created_at)) FROM notifications
WHERE status = 'queued' AND attempts > 0 AND last_error IS NOT NULL GROUP BY channel
""")


def read_retrying(conn: Any) -> None:
    found = {channel: (count, age) for channel, count, age in conn.execute(_RETRYING)}
    for channel in CHANNELS:
        count, age = found.get(channel, (0, 0))
        RETRYING.labels(channel).set(count)
        RETRYING_OLDEST_AGE.labels(channel).set(age)
