"""BookingCancelled: the booking's open (requested, scheduled, in progress) transport requests are cancelled, exactly
once."""

from __future__ import annotations

from typing import Any

import pytest

from jeshstack.testing import wait_for


def bring_to(t: Any, status: str, booking_id: int | None, user_id: int = 1) -> int:
    steps = {
        "requested": [],
        "scheduled": ["scheduled"],
        "in_progress": ["scheduled", "in_progress"],
        "completed": ["scheduled", "in_progress", "completed"],
        "cancelled": ["cancelled"],
    }[status]
    request_id = t.create(user_id=user_id, booking_id=booking_id)
    for step in steps:
        assert t.patch_status(request_id, step).status_code == 200
    return request_id


@pytest.mark.parametrize("reason", ["user", "admin", "expired"])
def test_a_cancelled_booking_cancels_its_open_transport_requests(t: Any, reason: str) -> None:
    t.booking_exists(10, user_id=1)
    t.booking_exists(11, user_id=1)
    ids = {status: bring_to(t, status, booking_id=10) for status in
           ["requested", "scheduled", "in_progress", "completed", "cancelled"]}
    other_booking = bring_to(t, "requested", booking_id=11)
    no_booking = bring_to(t, "scheduled", booking_id=None)
    before = len(wait_for(lambda: (e := t.status_events()) and len(e) >= 15 and e, what="15 events"))

    t.booking_cancelled(booking_id=10, user_id=1, reason=reason)
    wait_for(lambda: t.statuses()[ids["requested"]] == "cancelled", what="cascade")

    assert t.statuses() == {
        ids["requested"]: "cancelled",
        ids["scheduled"]: "cancelled",
        ids["in_progress"]: "cancelled",  # open too, the contract says (the team is told by the log and event)
        ids["completed"]: "completed",
        ids["cancelled"]: "cancelled",
        other_booking: "requested",
        no_booking: "scheduled",
    }
    events = wait_for(lambda: (e := t.status_events()) and len(e) >= before + 3 and e, what="cascade events")
    assert sorted(
        (e["request_id"], e["previous_status"], e["status"], e["booking_id"], e["user_id"]) for e in events[before:]
    ) == [
        (ids["requested"], "requested", "cancelled", 10, 1),
        (ids["scheduled"], "scheduled", "cancelled", 10, 1),
        (ids["in_progress"], "in_progress", "cancelled", 10, 1),
    ]
    assert t.known_booking(10)["cancelled"] is True


def test_a_redelivered_booking_cancelled_changes_nothing_twice(t: Any) -> None:
    t.booking_exists(20, user_id=1)
    request_id = bring_to(t, "requested", booking_id=20)
    envelope = t.booking_cancelled(booking_id=20, user_id=1)
    wait_for(lambda: t.statuses()[request_id] == "cancelled", what="cascade")
    events = wait_for(lambda: (e := t.status_events()) and len(e) >= 2 and e, what="2 events")
    inbox = t.inbox_count()

    # The same event again, past JetStream's de-duplication (as after a lost ack), then a marker.
    t.bus.publish("BookingCancelled", envelope["data"], event_id=envelope["id"], dedupe=False, source="booking")
    t.settled(marker_booking_id=21)

    assert t.inbox_count() == inbox + 1  # only the marker was applied
    assert t.statuses() == {request_id: "cancelled"}
    assert t.status_events() == events


def test_a_second_cancellation_event_of_one_booking_cancels_nothing_more(t: Any) -> None:
    t.booking_exists(22, user_id=1)
    request_id = bring_to(t, "scheduled", booking_id=22)
    t.booking_cancelled(booking_id=22, user_id=1, reason="user")
    wait_for(lambda: t.statuses()[request_id] == "cancelled", what="cascade")
    t.booking_cancelled(booking_id=22, user_id=1, reason="admin")  # another event id
    t.settled(marker_booking_id=23)
    cascades = [e for e in t.status_events() if e["status"] == "cancelled"]
    assert len(cascades) == 1


def test_a_request_created_after_the_cascade_is_refused(t: Any) -> None:
    t.booking_exists(24, user_id=1)
    bring_to(t, "requested", booking_id=24)
    t.booking_cancelled(booking_id=24, user_id=1)
    wait_for(lambda: t.known_booking(24)["cancelled"], what="booking 24 cancelled")
    response = t.post(t.body(booking_id=24), user_id=1)
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid booking"


def test_a_cancellation_of_a_booking_never_heard_of_is_remembered(t: Any) -> None:
    t.booking_cancelled(booking_id=25, user_id=3, reason="expired")
    wait_for(lambda: t.known_booking(25), what="booking 25 known")
    assert t.known_booking(25) == {"booking_id": 25, "user_id": 3, "cancelled": True}


def test_a_malformed_booking_event_does_not_stop_the_others(t: Any) -> None:
    t.bus.publish("BookingCancelled", {"user_id": 1}, source="booking")  # no booking_id: parked in the end
    t.settled(marker_booking_id=26)
    assert t.known_booking(26) is not None
