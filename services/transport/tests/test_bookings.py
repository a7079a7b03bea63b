"""booking_id on a new request: the caller's own, not cancelled booking, known from events or asked for."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import text

from jeshstack.testing import wait_for


def refused_as_invalid_booking(response: Any) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False
    assert body["message"] == "Invalid booking"
    assert [error["field"] for error in body["errors"]] == ["booking_id"]


# --- known from BookingCreated ------------------------------------------------------------------------
def test_own_booking_known_from_its_event_is_accepted(t: Any) -> None:
    t.booking_created(booking_id=41, user_id=1)
    response = t.post(t.body(booking_id=41), user_id=1)
    assert response.status_code == 201, response.text
    [item] = t.client.get("/api/transport-requests/1", headers=t.as_user(1)).json()["data"]
    assert item["booking_id"] == 41
    events = wait_for(t.status_events, what="TransportStatusChanged")
    assert events[0]["booking_id"] == 41


def test_another_users_booking_is_refused(t: Any) -> None:
    t.booking_created(booking_id=42, user_id=2)
    refused_as_invalid_booking(t.post(t.body(booking_id=42), user_id=1))
    assert t.statuses() == {}


def test_an_admin_may_not_tie_a_request_to_someone_elses_booking_either(t: Any) -> None:
    t.booking_created(booking_id=43, user_id=2)
    refused_as_invalid_booking(t.post(t.body(booking_id=43), user_id=900, role="admin"))


def test_a_cancelled_booking_is_refused(t: Any) -> None:
    t.booking_created(booking_id=44, user_id=1)
    t.booking_cancelled(booking_id=44, user_id=1)
    wait_for(lambda: t.known_booking(44)["cancelled"], what="booking 44 cancelled")
    refused_as_invalid_booking(t.post(t.body(booking_id=44), user_id=1))


def test_a_cancellation_heard_before_the_creation_is_not_undone(t: Any) -> None:
    t.booking_cancelled(booking_id=45, user_id=1, reason="expired")
    wait_for(lambda: t.known_booking(45), what="booking 45 known")
    t.booking_created(booking_id=46, user_id=1)  # processed after the stale BookingCreated below
    t.bus.publish("BookingCreated", {"booking_id": 45, "user_id": 1}, source="booking")
    t.booking_created(booking_id=47, user_id=1)
    assert t.known_booking(45) == {"booking_id": 45, "user_id": 1, "cancelled": True}
    refused_as_invalid_booking(t.post(t.body(booking_id=45), user_id=1))


def confirmed(t: Any, booking_id: int, user_id: int = 1) -> None:
    t.bus.publish("BookingConfirmed", {"booking_id": booking_id, "user_id": user_id, "unit_id": 1,
                                       "start_date": "2030-01-01", "end_date": "2030-02-01", "total_price": 5000},
                  source="booking")


def settled(t: Any, marker: int) -> None:
    """Wait until every event published before now has been applied (a marker booking's, published last)."""
    t.booking_created(booking_id=marker, user_id=999)


def test_a_booking_confirmed_after_its_hold_expired_takes_requests_again(t: Any) -> None:
    # The booking service confirms an expired booking again when a late payment finds its dates free. Before:
    # transport kept it cancelled for good and answered 400 "that booking is cancelled".
    t.booking_created(booking_id=61, user_id=1)
    before = t.create(booking_id=61)
    t.booking_cancelled(booking_id=61, user_id=1, reason="expired")
    wait_for(lambda: t.known_booking(61)["cancelled"], what="booking 61 expired")
    refused_as_invalid_booking(t.post(t.body(booking_id=61), user_id=1))
    confirmed(t, 61)
    wait_for(lambda: not t.known_booking(61)["cancelled"], what="booking 61 confirmed again")
    assert t.post(t.body(booking_id=61), user_id=1).status_code == 201
    assert t.statuses()[before] == "cancelled"  # what the expiry cancelled stays so: the customer asks again


def test_an_expiry_delivered_after_the_confirmation_that_followed_it_changes_nothing(t: Any) -> None:
    t.booking_created(booking_id=62, user_id=1)
    confirmed(t, 62)
    wait_for(lambda: t.known_booking(62) is not None, what="booking 62 known")
    request = t.create(booking_id=62)
    t.booking_cancelled(booking_id=62, user_id=1, reason="expired")  # late: the confirmation came after it
    settled(t, 63)
    assert t.known_booking(62) == {"booking_id": 62, "user_id": 1, "cancelled": False}
    assert t.statuses()[request] == "requested"
    assert t.post(t.body(booking_id=62), user_id=1).status_code == 201


def test_a_confirmation_never_undoes_another_cancellation(t: Any) -> None:
    for booking_id, reason in ((64, "user"), (65, "admin")):
        t.booking_created(booking_id=booking_id, user_id=1)
        t.booking_cancelled(booking_id=booking_id, user_id=1, reason=reason)
        confirmed(t, booking_id)  # delivered late: it came before the cancellation
    settled(t, 66)
    for booking_id in (64, 65):
        assert t.known_booking(booking_id)["cancelled"], booking_id
        refused_as_invalid_booking(t.post(t.body(booking_id=booking_id), user_id=1))


def test_an_expiry_delivered_after_a_final_cancellation_does_not_let_a_confirmation_revive_the_booking(t: Any) -> None:
    # Expired, confirmed again by a late payment, then cancelled by its owner; the owner's cancellation is delivered
    # first. Before, the late expiry replaced the owner's reason and the late confirmation revived the booking.
    t.booking_created(booking_id=67, user_id=1)
    t.booking_cancelled(booking_id=67, user_id=1, reason="user")
    t.booking_cancelled(booking_id=67, user_id=1, reason="expired")
    confirmed(t, 67)
    settled(t, 68)
    assert t.known_booking(67)["cancelled"]
    refused_as_invalid_booking(t.post(t.body(booking_id=67), user_id=1))


# --- asked of the booking service when no event has come yet --------------------------------------------
@pytest.fixture
def with_booking_service(start_transport: Any, fake_booking: Any, t: Any) -> Any:
    t.client = start_transport(booking_url=fake_booking.url)
    return fake_booking


def test_unheard_of_own_booking_is_asked_for_then_remembered(t: Any, with_booking_service: Any) -> None:
    with_booking_service.add(51, user_id=1)
    assert t.post(t.body(booking_id=51), user_id=1).status_code == 201
    assert with_booking_service.calls == [51]
    assert t.known_booking(51) == {"booking_id": 51, "user_id": 1, "cancelled": False}
    assert t.post(t.body(booking_id=51), user_id=1).status_code == 201
    assert with_booking_service.calls == [51]  # the second time it is known


def test_no_transaction_of_transport_stays_open_while_the_booking_service_is_asked(
    t: Any, with_booking_service: Any
) -> None:
    def open_transactions() -> int:
        """Transactions left open across the call: the same transaction idle in both of two looks 50 ms apart (the
        relay's sweep and the consumers open and end theirs within a millisecond, and one of them may be caught)."""
        def idle_in_transaction() -> set[tuple[Any, ...]]:
            with t.db.connect() as conn:
                return {tuple(row) for row in conn.execute(text(
                    "SELECT pid, xact_start FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                ))}
        first = idle_in_transaction()
        time.sleep(0.05)
        return len(first & idle_in_transaction())

    seen: list[int] = []
    with_booking_service.during_call = lambda: seen.append(open_transactions())
    with_booking_service.add(53, user_id=1)
    assert t.post(t.body(booking_id=53), user_id=1).status_code == 201
    assert seen == [0]


def test_unheard_of_booking_of_another_user_is_refused(t: Any, with_booking_service: Any) -> None:
    with_booking_service.add(52, user_id=2)
    refused_as_invalid_booking(t.post(t.body(booking_id=52), user_id=1))
    assert with_booking_service.calls == [52]
    assert t.statuses() == {}


def test_a_booking_the_booking_service_does_not_know_is_refused(t: Any, with_booking_service: Any) -> None:
    refused_as_invalid_booking(t.post(t.body(booking_id=53), user_id=1))
    assert with_booking_service.calls == [53]
    assert t.known_booking(53) is None


def test_unheard_of_cancelled_booking_is_refused(t: Any, with_booking_service: Any) -> None:
    with_booking_service.add(54, user_id=1, status="cancelled")
    refused_as_invalid_booking(t.post(t.body(booking_id=54), user_id=1))
    assert t.known_booking(54) == {"booking_id": 54, "user_id": 1, "cancelled": True}


def test_a_booking_first_asked_for_while_expired_takes_requests_again_once_paid_late(
    t: Any, with_booking_service: Any
) -> None:
    # Its events have not come yet; the booking service says: cancelled, its hold expired. Then a late payment confirms
    # it again. Before, the answer's reason was not kept, and the booking stayed cancelled here for good.
    with_booking_service.add(58, user_id=1, status="cancelled", cancel_reason="expired")
    refused_as_invalid_booking(t.post(t.body(booking_id=58), user_id=1))
    confirmed(t, 58)
    wait_for(lambda: not t.known_booking(58)["cancelled"], what="booking 58 confirmed again")
    assert t.post(t.body(booking_id=58), user_id=1).status_code == 201
    assert with_booking_service.calls == [58]


def test_a_booking_first_asked_for_after_its_final_cancellation_stays_cancelled(
    t: Any, with_booking_service: Any
) -> None:
    # Expired, confirmed by a late payment, then cancelled by an admin: the answer says `admin`; the expiry and the
    # confirmation, delivered after it, are older. Before, the expiry took the admin's place and the confirmation
    # revived the booking.
    with_booking_service.add(59, user_id=1, status="cancelled", cancel_reason="admin")
    refused_as_invalid_booking(t.post(t.body(booking_id=59), user_id=1))
    t.booking_cancelled(booking_id=59, user_id=1, reason="expired")
    confirmed(t, 59)
    settled(t, 60)
    assert t.known_booking(59)["cancelled"]
    refused_as_invalid_booking(t.post(t.body(booking_id=59), user_id=1))


@pytest.mark.parametrize("status", ["pending", "confirmed"])
def test_unheard_of_active_booking_is_accepted(t: Any, with_booking_service: Any, status: str) -> None:
    with_booking_service.add(55, user_id=1, status=status)
    assert t.post(t.body(booking_id=55), user_id=1).status_code == 201


def test_the_booking_service_is_not_asked_about_a_booking_known_from_events(
    t: Any, with_booking_service: Any
) -> None:
    t.booking_created(booking_id=56, user_id=1)
    assert t.post(t.body(booking_id=56), user_id=1).status_code == 201
    assert with_booking_service.calls == []


def test_booking_service_unreachable_is_503_and_creates_nothing(t: Any) -> None:
    response = t.post(t.body(booking_id=57), user_id=1)
    assert response.status_code == 503
    assert response.json()["success"] is False
    assert t.statuses() == {}


def test_a_request_without_booking_never_asks_the_booking_service(t: Any) -> None:
    # The default fixture's booking service is unreachable: this must not matter.
    assert t.post(t.body(), user_id=1).status_code == 201
