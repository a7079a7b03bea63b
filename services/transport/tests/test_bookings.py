"""booking_id on a new request: the caller's own, not cancelled booking, asked of the booking service the first time
a request names it, and followed by its confirmation and cancellation events."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import text

from jeshstack.procs import free_port
from jeshstack.testing import wait_for


def refused_as_invalid_booking(response: Any) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False
    assert body["message"] == "Invalid booking"
    assert [error["field"] for error in body["errors"]] == ["booking_id"]


# --- asked of the booking service the first time a request names it --------------------------------------
def test_own_booking_is_asked_for_then_remembered(t: Any) -> None:
    t.booking_exists(41, user_id=1)
    response = t.post(t.body(booking_id=41), user_id=1)
    assert response.status_code == 201, response.text
    [item] = t.client.get("/api/transport-requests/1", headers=t.as_user(1)).json()["data"]
    assert item["booking_id"] == 41
    events = wait_for(t.status_events, what="TransportStatusChanged")
    assert events[0]["booking_id"] == 41
    assert t.booking_service.calls == [41]
    assert t.known_booking(41) == {"booking_id": 41, "user_id": 1, "cancelled": False}
    assert t.post(t.body(booking_id=41), user_id=1).status_code == 201
    assert t.booking_service.calls == [41]  # the second time it is known


def test_booking_created_is_not_consumed(t: Any) -> None:
    # Most bookings never ask for a truck: transport does not apply each one's BookingCreated (it asks on a miss).
    envelope = t.bus.publish("BookingCreated", {
        "booking_id": 40, "user_id": 1, "unit_id": 1, "start_date": "2030-01-01", "end_date": "2030-02-01",
        "total_price": 5000, "hold_expires_at": t.future(0.25)}, source="booking")
    t.settled(marker_booking_id=39)
    assert t.known_booking(40) is None
    with t.db.connect() as conn:
        assert conn.execute(text("SELECT 1 FROM inbox WHERE event_id = CAST(:e AS uuid)"),
                            {"e": envelope["id"]}).first() is None


def test_another_users_booking_is_refused(t: Any) -> None:
    t.booking_exists(42, user_id=2)
    refused_as_invalid_booking(t.post(t.body(booking_id=42), user_id=1))
    assert t.booking_service.calls == [42]
    assert t.statuses() == {}


def test_an_admin_may_not_tie_a_request_to_someone_elses_booking_either(t: Any) -> None:
    t.booking_exists(43, user_id=2)
    refused_as_invalid_booking(t.post(t.body(booking_id=43), user_id=900, role="admin"))


def test_a_cancelled_booking_is_refused(t: Any) -> None:
    t.booking_exists(44, user_id=1)
    t.create(booking_id=44)
    t.booking_cancelled(booking_id=44, user_id=1)
    wait_for(lambda: t.known_booking(44)["cancelled"], what="booking 44 cancelled")
    refused_as_invalid_booking(t.post(t.body(booking_id=44), user_id=1))


def test_a_cancellation_heard_before_the_first_request_is_not_undone(t: Any) -> None:
    t.booking_exists(45, user_id=1)  # what an answer asked for before the cancellation would have said
    t.booking_cancelled(booking_id=45, user_id=1, reason="expired")
    wait_for(lambda: t.known_booking(45), what="booking 45 known")
    refused_as_invalid_booking(t.post(t.body(booking_id=45), user_id=1))
    assert t.booking_service.calls == []  # known from its cancellation: not asked
    assert t.known_booking(45) == {"booking_id": 45, "user_id": 1, "cancelled": True}


def test_a_booking_confirmed_after_its_hold_expired_takes_requests_again(t: Any) -> None:
    # The booking service confirms an expired booking again when a late payment finds its dates free. Before:
    # transport kept it cancelled for good and answered 400 "that booking is cancelled".
    t.booking_exists(61, user_id=1)
    before = t.create(booking_id=61)
    t.booking_cancelled(booking_id=61, user_id=1, reason="expired")
    wait_for(lambda: t.known_booking(61)["cancelled"], what="booking 61 expired")
    refused_as_invalid_booking(t.post(t.body(booking_id=61), user_id=1))
    t.booking_confirmed(61)
    wait_for(lambda: not t.known_booking(61)["cancelled"], what="booking 61 confirmed again")
    assert t.post(t.body(booking_id=61), user_id=1).status_code == 201
    assert t.statuses()[before] == "cancelled"  # what the expiry cancelled stays so: the customer asks again


def test_an_expiry_delivered_after_the_confirmation_that_followed_it_changes_nothing(t: Any) -> None:
    t.booking_confirmed(62)
    wait_for(lambda: t.known_booking(62) is not None, what="booking 62 known")
    request = t.create(booking_id=62)
    assert t.booking_service.calls == []  # known from its confirmation
    t.booking_cancelled(booking_id=62, user_id=1, reason="expired")  # late: the confirmation came after it
    t.settled(63)
    assert t.known_booking(62) == {"booking_id": 62, "user_id": 1, "cancelled": False}
    assert t.statuses()[request] == "requested"
    assert t.post(t.body(booking_id=62), user_id=1).status_code == 201


def test_a_confirmation_never_undoes_another_cancellation(t: Any) -> None:
    for booking_id, reason in ((64, "user"), (65, "admin")):
        t.booking_cancelled(booking_id=booking_id, user_id=1, reason=reason)
        t.booking_confirmed(booking_id)  # delivered late: it came before the cancellation
    t.settled(66)
    for booking_id in (64, 65):
        assert t.known_booking(booking_id)["cancelled"], booking_id
        refused_as_invalid_booking(t.post(t.body(booking_id=booking_id), user_id=1))


def test_an_expiry_delivered_after_a_final_cancellation_does_not_let_a_confirmation_revive_the_booking(t: Any) -> None:
    # Expired, confirmed again by a late payment, then cancelled by its owner; the owner's cancellation is delivered
    # first. Before, the late expiry replaced the owner's reason and the late confirmation revived the booking.
    t.booking_cancelled(booking_id=67, user_id=1, reason="user")
    t.booking_cancelled(booking_id=67, user_id=1, reason="expired")
    t.booking_confirmed(67)
    t.settled(68)
    assert t.known_booking(67)["cancelled"]
    refused_as_invalid_booking(t.post(t.body(booking_id=67), user_id=1))


def test_no_transaction_of_transport_stays_open_while_the_booking_service_is_asked(t: Any) -> None:
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
    t.booking_service.during_call = lambda: seen.append(open_transactions())
    t.booking_service.add(53, user_id=1)
    assert t.post(t.body(booking_id=53), user_id=1).status_code == 201
    assert seen == [0]


def test_a_booking_the_booking_service_does_not_know_is_refused(t: Any) -> None:
    refused_as_invalid_booking(t.post(t.body(booking_id=53), user_id=1))
    assert t.booking_service.calls == [53]
    assert t.known_booking(53) is None


def test_unheard_of_cancelled_booking_is_refused(t: Any) -> None:
    t.booking_service.add(54, user_id=1, status="cancelled")
    refused_as_invalid_booking(t.post(t.body(booking_id=54), user_id=1))
    assert t.known_booking(54) == {"booking_id": 54, "user_id": 1, "cancelled": True}


def test_a_booking_first_asked_for_while_expired_takes_requests_again_once_paid_late(t: Any) -> None:
    # Its events have not come yet; the booking service says: cancelled, its hold expired. Then a late payment confirms
    # it again. Before, the answer's reason was not kept, and the booking stayed cancelled here for good.
    t.booking_service.add(58, user_id=1, status="cancelled", cancel_reason="expired")
    refused_as_invalid_booking(t.post(t.body(booking_id=58), user_id=1))
    t.booking_confirmed(58)
    wait_for(lambda: not t.known_booking(58)["cancelled"], what="booking 58 confirmed again")
    assert t.post(t.body(booking_id=58), user_id=1).status_code == 201
    assert t.booking_service.calls == [58]


def test_a_booking_first_asked_for_after_its_final_cancellation_stays_cancelled(t: Any) -> None:
    # Expired, confirmed by a late payment, then cancelled by an admin: the answer says `admin`; the expiry and the
    # confirmation, delivered after it, are older. Before, the expiry took the admin's place and the confirmation
    # revived the booking.
    t.booking_service.add(59, user_id=1, status="cancelled", cancel_reason="admin")
    refused_as_invalid_booking(t.post(t.body(booking_id=59), user_id=1))
    t.booking_cancelled(booking_id=59, user_id=1, reason="expired")
    t.booking_confirmed(59)
    t.settled(60)
    assert t.known_booking(59)["cancelled"]
    refused_as_invalid_booking(t.post(t.body(booking_id=59), user_id=1))


@pytest.mark.parametrize("status", ["pending", "confirmed"])
def test_unheard_of_active_booking_is_accepted(t: Any, status: str) -> None:
    t.booking_service.add(55, user_id=1, status=status)
    assert t.post(t.body(booking_id=55), user_id=1).status_code == 201


@pytest.fixture
def unreachable_booking_service(t: Any, start_transport: Any) -> None:
    t.client = start_transport(booking_url=f"http://127.0.0.1:{free_port()}")


def test_booking_service_unreachable_is_503_and_creates_nothing(t: Any, unreachable_booking_service: None) -> None:
    response = t.post(t.body(booking_id=57), user_id=1)
    assert response.status_code == 503
    assert response.json()["success"] is False
    assert t.statuses() == {}


def test_a_request_without_booking_never_asks_the_booking_service(t: Any, unreachable_booking_service: None) -> None:
    assert t.post(t.body(), user_id=1).status_code == 201
