"""The retention job prunes sent outbox rows, inbox rows and parked messages past their windows, nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from jeshkit.db import make_session_factory
from jeshkit.retention import prune_messaging
from jeshkit.settings import ServiceSettings


@pytest.fixture
def db(messaging_db: Callable[..., Engine]) -> Engine:
    return messaging_db("kit_retention_test")


def outbox_row(conn: object, *, sent_days_ago: float | None, created_days_ago: float = 30) -> str:
    row_id = str(uuid.uuid4())
    conn.execute(  # type: ignore[attr-defined]
        text("INSERT INTO outbox (id, type, version, subject, payload, created_at, sent_at) VALUES "
             "(:id, 'Ping', 1, 'jesh.events.Ping', '{}', now() - make_interval(days => :created), "
             "CASE WHEN CAST(:sent AS float) IS NULL THEN NULL "
             "ELSE now() - make_interval(secs => CAST(:sent AS float) * 86400) END)"),
        {"id": row_id, "created": int(created_days_ago), "sent": sent_days_ago},
    )
    return row_id


def test_old_rows_go_recent_and_unsent_rows_stay(db: Engine) -> None:
    with db.begin() as conn:
        old_sent = outbox_row(conn, sent_days_ago=15)
        recent_sent = outbox_row(conn, sent_days_ago=13)
        old_unsent = outbox_row(conn, sent_days_ago=None)  # never pruned: it still has to go out
        for days in (15, 1):
            conn.execute(text("INSERT INTO inbox (consumer, event_id, processed_at) VALUES "
                              "('kit', :id, now() - make_interval(days => :days))"),
                         {"id": str(uuid.uuid4()), "days": days})
        for days in (91, 89):
            conn.execute(text("INSERT INTO dead_letter (consumer, subject, payload, error, deliveries, created_at) "
                              "VALUES ('kit', 's', '{}', 'e', 1, now() - make_interval(days => :days))"),
                         {"days": days})
    settings = ServiceSettings(messaging_retention_days=14, dead_letter_retention_days=90)
    removed = prune_messaging(make_session_factory(db), settings)
    assert removed == {"outbox": 1, "inbox": 1, "dead_letter": 1}
    with db.connect() as conn:
        left = {str(r[0]) for r in conn.execute(text("SELECT id FROM outbox"))}
        assert left == {recent_sent, old_unsent} and old_sent not in left
        assert conn.execute(text("SELECT count(*) FROM inbox")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM dead_letter")).scalar_one() == 1
    assert prune_messaging(make_session_factory(db), settings) == {"outbox": 0, "inbox": 0, "dead_letter": 0}


def test_the_inbox_must_outlive_the_stream() -> None:
    with pytest.raises(ValueError, match="MESSAGING_RETENTION_DAYS"):
        ServiceSettings(messaging_retention_days=1, events_max_age_seconds=7 * 86400)
