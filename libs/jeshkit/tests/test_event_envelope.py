"""The envelope's `occurred_at`, read once for every consumer (billing, booking, payments, notifications)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from jeshkit.outbox import Event


def envelope(occurred_at: str) -> Event:
    return Event(id="0b7f3c9e-5d2a-4c1b-9e8f-000000000001", type="UnitCreated", version=1, occurred_at=occurred_at,
                 source="inventory", data={})


def test_the_moment_an_event_occurred_is_timezone_aware() -> None:
    assert envelope("2031-01-05T09:15:27.104512+00:00").moment() == datetime(2031, 1, 5, 9, 15, 27, 104512, UTC)
    assert envelope("2031-01-05T09:15:27Z").moment() == datetime(2031, 1, 5, 9, 15, 27, tzinfo=UTC)
    assert envelope("2031-01-05T12:15:27+03:00").moment() == datetime(2031, 1, 5, 12, 15, 27,
                                                                      tzinfo=timezone(timedelta(hours=3)))
    assert envelope("2031-01-05T09:15:27").moment() == datetime(2031, 1, 5, 9, 15, 27, tzinfo=UTC)  # no offset: UTC


def test_an_unreadable_moment_is_now() -> None:
    before = datetime.now(UTC)
    moment = envelope("yesterday").moment()
    assert before <= moment <= datetime.now(UTC)
