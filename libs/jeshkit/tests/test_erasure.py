"""forget_personal_events: an erased person's personal events leave the outbox and the parked messages; their other
events, and everybody else's, stay."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from jeshkit.db import make_session_factory
from jeshkit.erasure import forget_personal_events, personal_event_types


@pytest.fixture
def db(messaging_db: Callable[..., Engine]) -> Engine:
    return messaging_db("kit_erasure_test")


def envelope(event_type: str, user_id: int) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "type": event_type, "version": 1, "source": "auth",
            "data": {"user_id": user_id, "email": f"u{user_id}@example.com"}}


def test_the_personal_events_are_the_models_marked_so() -> None:
    assert personal_event_types() == [
        "AutopayRequested", "PasswordResetRequested", "PaymentUnmatched", "UserRegistered", "UserUpdated"]


def test_only_the_erased_person_s_personal_events_go(db: Engine) -> None:
    rows = [("UserRegistered", 7), ("UserUpdated", 7), ("AutopayRequested", 7), ("BookingCreated", 7),
            ("UserUpdated", 70), ("UserUpdated", 17)]
    with db.begin() as conn:
        for event_type, user_id in rows:
            payload = envelope(event_type, user_id)
            conn.execute(text("INSERT INTO outbox (id, type, version, subject, payload, sent_at) VALUES "
                              "(:id, :type, 1, :subject, CAST(:payload AS jsonb), now())"),
                         {"id": payload["id"], "type": event_type, "subject": f"jesh.events.{event_type}",
                          "payload": json.dumps(payload)})
            # parked as received: compact or spaced JSON, or text that is not JSON at all
            for text_form in (json.dumps(payload), json.dumps(payload, separators=(",", ":")),
                              f'garbled {{"user_id": {user_id}'):
                conn.execute(text("INSERT INTO dead_letter (consumer, subject, payload, error, deliveries) VALUES "
                                  "('kit', :subject, :payload, 'e', 1)"),
                             {"subject": f"jesh.events.{event_type}", "payload": text_form})

    with make_session_factory(db)() as session:
        assert forget_personal_events(session, user_id=7) == 3 + 3 * 3
        session.commit()

    with db.connect() as conn:
        left = conn.execute(text("SELECT type, payload -> 'data' ->> 'user_id' FROM outbox ORDER BY type")).all()
        assert sorted(left) == [("BookingCreated", "7"), ("UserUpdated", "17"), ("UserUpdated", "70")]
        parked = conn.execute(text("SELECT subject FROM dead_letter")).scalars().all()
        assert len(parked) == 3 * 3 and parked.count("jesh.events.BookingCreated") == 3
