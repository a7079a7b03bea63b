"""Listing (compat by user, mine / all with filters), cancelling, and the internal endpoint for peers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools" / "contracts"))
from event_contracts import validate_outbox


def _book(client, user, day, unit=1, start=1, end=5):
    r = client.post("/api/bookings", json={"unit_id": unit, "start_date": day(start), "end_date": day(end)},
                    headers=user)
    assert r.status_code == 201, r.text
    return r.json()["data"]


@pytest.fixture
def three_bookings(start_booking, kit, signing_keys, day):
    """Users 5 and 6; 5 has bookings on units 1 and 2, 6 one on unit 2."""
    client = start_booking()
    kit.seed_unit(1)
    kit.seed_unit(2)
    a = _book(client, signing_keys.headers(5), day, unit=1)
    b = _book(client, signing_keys.headers(5), day, unit=2, start=1, end=3)
    c = _book(client, signing_keys.headers(6), day, unit=2, start=3, end=9)
    return client, a, b, c


# --- GET /api/bookings/<user_id> (compat) -----------------------------------------------------------------
def test_a_user_lists_their_own_bookings(three_bookings, signing_keys):
    client, a, b, _ = three_bookings
    r = client.get("/api/bookings/5", headers=signing_keys.headers(5))
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert [x["id"] for x in body["data"]] == [b["id"], a["id"]]  # newest first
    assert set(body["data"][0]) == {"id", "user_id", "unit_id", "start_date", "end_date", "total_price", "status",
                                    "payment_status", "created_at", "hold_expires_at", "plan"}


def test_another_users_bookings_are_403(three_bookings, signing_keys):
    client, *_ = three_bookings
    r = client.get("/api/bookings/5", headers=signing_keys.headers(6))
    assert r.status_code == 403
    assert r.json() == {"success": False, "message": "Unauthorized"}


def test_an_admin_lists_anyones_bookings(three_bookings, signing_keys):
    client, *_, c = three_bookings
    r = client.get("/api/bookings/6", headers=signing_keys.headers(99, "admin"))
    assert r.status_code == 200
    [only] = r.json()["data"]
    assert only["id"] == c["id"]
    assert only["refund_status"] is None and only["refunds"] == []  # the admin's extra fields
    assert client.get("/api/bookings/12345", headers=signing_keys.headers(99, "admin")).json()["data"] == []


def test_listing_needs_a_token_and_a_well_formed_id(three_bookings, signing_keys):
    client, *_ = three_bookings
    assert client.get("/api/bookings/5").status_code == 401
    assert client.get("/api/bookings/5", headers={"Authorization": "Bearer nope"}).status_code == 401
    for bad in ("abc", "0", "-1", "1.5", str(2**64)):
        r = client.get(f"/api/bookings/{bad}", headers=signing_keys.headers(5, "admin"))
        assert r.status_code == 404, bad
        assert r.json()["success"] is False


# --- GET /api/bookings ----------------------------------------------------------------------------------
def test_a_user_gets_only_their_own_bookings(three_bookings, signing_keys):
    client, _, b, c = three_bookings
    for path in ("/api/bookings", "/api/bookings/"):
        r = client.get(path, headers=signing_keys.headers(6))
        assert r.status_code == 200
        assert [x["id"] for x in r.json()["data"]] == [c["id"]]
    mine = client.get("/api/bookings?unit_id=2", headers=signing_keys.headers(5)).json()["data"]
    assert [x["id"] for x in mine] == [b["id"]]
    assert client.get("/api/bookings?user_id=5", headers=signing_keys.headers(5)).status_code == 200
    refused = client.get("/api/bookings?user_id=6", headers=signing_keys.headers(5))
    assert refused.status_code == 403
    assert refused.json() == {"success": False, "message": "Unauthorized"}
    assert client.get("/api/bookings").status_code == 401


def test_one_booking_by_its_id_the_owners_or_any_for_an_admin(three_bookings, signing_keys):
    client, a, _, c = three_bookings
    one = client.get(f"/api/bookings?booking_id={a['id']}", headers=signing_keys.headers(5)).json()["data"]
    assert [x["id"] for x in one] == [a["id"]]
    assert client.get(f"/api/bookings?booking_id={c['id']}", headers=signing_keys.headers(5)).json()["data"] == []
    admin = signing_keys.headers(99, "admin")
    # however many newer bookings there are: the list's first page would not reach it
    old = client.get(f"/api/bookings?booking_id={a['id']}&limit=1", headers=admin).json()["data"]
    assert [x["id"] for x in old] == [a["id"]] and old[0]["refunds"] == []
    assert client.get("/api/bookings?booking_id=0", headers=admin).status_code == 400


def test_an_admin_gets_all_bookings_with_filters(three_bookings, signing_keys):
    client, a, b, c = three_bookings
    admin = signing_keys.headers(99, "admin")
    client.post(f"/api/bookings/{a['id']}/cancel", headers=admin)

    def ids(query: str) -> list[int]:
        r = client.get(f"/api/bookings{query}", headers=admin)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["data"]]

    assert ids("") == [c["id"], b["id"], a["id"]]
    assert ids("?user_id=5") == [b["id"], a["id"]]
    assert ids("?unit_id=2") == [c["id"], b["id"]]
    assert ids("?status=cancelled") == [a["id"]]
    assert ids("?status=pending&user_id=5") == [b["id"]]
    assert ids("?status=confirmed") == []
    assert ids("?user_id=5&unit_id=2") == [b["id"]]
    assert ids("?limit=2") == [c["id"], b["id"]]
    assert ids("?limit=2&offset=2") == [a["id"]]


@pytest.mark.parametrize("query", ["status=done", "user_id=abc", "unit_id=0", "limit=0", "offset=-1",
                                   "refund_status=maybe"])
def test_a_bad_filter_is_400(three_bookings, signing_keys, query):
    client, *_ = three_bookings
    r = client.get(f"/api/bookings?{query}", headers=signing_keys.headers(99, "admin"))
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False
    assert body["errors"][0]["field"] == query.split("=")[0]


# --- POST /api/bookings/<booking_id>/cancel ---------------------------------------------------------------
def test_the_owner_cancels_a_pending_booking_and_the_dates_are_free_at_once(start_booking, kit, signing_keys,
                                                                            day):
    client = start_booking()
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(5), day)

    r = client.post(f"/api/bookings/{booking['id']}/cancel", headers=signing_keys.headers(5))

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    assert body["data"]["id"] == booking["id"] and body["data"]["status"] == "cancelled"
    assert "hold_expires_at" not in body["data"]
    _book(client, signing_keys.headers(6), day)  # same dates, at once
    assert kit.wait_events("BookingCancelled", booking_id=booking["id"]) == [
        {"booking_id": booking["id"], "user_id": 5, "unit_id": 1, "start_date": day(1), "end_date": day(5),
         "reason": "user"}]
    assert kit.wait_events("UnitReleased", booking_id=booking["id"]) == [
        {"booking_id": booking["id"], "unit_id": 1, "start_date": day(1), "end_date": day(5), "reason": "user"}]

    again = client.post(f"/api/bookings/{booking['id']}/cancel", headers=signing_keys.headers(5))
    assert again.status_code == 409
    assert again.json() == {"success": False, "message": "Booking is already cancelled"}


def test_cancel_by_someone_else_is_403_and_unknown_is_404(three_bookings, signing_keys, kit):
    client, a, *_ = three_bookings
    r = client.post(f"/api/bookings/{a['id']}/cancel", headers=signing_keys.headers(6))
    assert r.status_code == 403
    assert r.json() == {"success": False, "message": "Unauthorized"}
    assert kit.booking_row(a["id"])["status"] == "pending"
    missing = client.post("/api/bookings/999999/cancel", headers=signing_keys.headers(6))
    assert missing.status_code == 404
    assert missing.json() == {"success": False, "message": "Booking not found"}
    assert client.post("/api/bookings/abc/cancel", headers=signing_keys.headers(6)).status_code == 404
    assert client.post(f"/api/bookings/{a['id']}/cancel").status_code == 401


def test_an_owner_cancels_a_paid_booking_before_it_starts_and_its_payment_is_recorded_for_refund(
    start_booking, kit, signing_keys, day
):
    from jeshstack.testing import wait_for

    client = start_booking()
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(5), day)
    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=41))
    wait_for(lambda: kit.booking_row(booking["id"])["status"] == "confirmed", what="confirmation")

    by_owner = client.post(f"/api/bookings/{booking['id']}/cancel", headers=signing_keys.headers(5))
    assert by_owner.status_code == 200, by_owner.text
    data = by_owner.json()["data"]
    assert (data["status"], data["payment_status"]) == ("cancelled", "success")
    assert kit.wait_events("BookingCancelled", booking_id=booking["id"])[0]["reason"] == "user"
    assert kit.wait_events("RefundRequired", booking_id=booking["id"])[0]["payment_id"] == 41
    _book(client, signing_keys.headers(6), day)  # the dates are free again


def test_a_started_paid_booking_is_cancelled_by_an_admin_only_and_its_payment_is_recorded_for_refund(
    start_booking, kit, signing_keys, day
):
    from jeshstack.testing import wait_for

    client = start_booking()
    kit.seed_unit(1)
    booking = _book(client, signing_keys.headers(5), day, start=0)
    kit.bus.publish("PaymentSucceeded", kit.payment(booking, payment_id=31))
    wait_for(lambda: kit.booking_row(booking["id"])["status"] == "confirmed", what="confirmation")

    by_owner = client.post(f"/api/bookings/{booking['id']}/cancel", headers=signing_keys.headers(5))
    assert by_owner.status_code == 409
    assert by_owner.json()["message"] == "A booking that has started can no longer be cancelled; ask us to end it"

    by_admin = client.post(f"/api/bookings/{booking['id']}/cancel", headers=signing_keys.headers(99, "admin"))
    assert by_admin.status_code == 200, by_admin.text
    data = by_admin.json()["data"]
    assert (data["status"], data["payment_status"], data["refund_status"]) == ("cancelled", "success", "required")
    assert data["refunds"][0]["reason"] == "cancelled_after_payment"
    assert kit.wait_events("BookingCancelled", booking_id=booking["id"])[0]["reason"] == "admin"
    assert kit.wait_events("UnitReleased", booking_id=booking["id"])[0]["reason"] == "admin"
    [refund] = kit.wait_events("RefundRequired", booking_id=booking["id"])
    assert refund == {"booking_id": booking["id"], "user_id": 5, "unit_id": 1, "amount": booking["total_price"],
                      "payment_id": 31, "receipt": "RCPT000031", "reason": "cancelled_after_payment"}
    _book(client, signing_keys.headers(6), day, start=0)  # the dates are free again

    # Every event staged on the way matches its published contract (contracts/events).
    checked = validate_outbox(kit.db.url.render_as_string(hide_password=False))
    assert checked == 6  # Created, Confirmed, Cancelled, Released, RefundRequired, Created


# --- internal endpoint and documentation ------------------------------------------------------------------
def test_internal_booking_for_peers(three_bookings, signing_keys):
    client, a, b, _ = three_bookings
    r = client.get(f"/internal/bookings/{a['id']}")
    assert r.status_code == 200
    assert r.json() == {"success": True, "data": {
        "booking_id": a["id"], "user_id": 5, "unit_id": 1, "start_date": a["start_date"], "end_date": a["end_date"],
        "total_price": a["total_price"], "status": "pending", "payment_status": "pending",
        "hold_expires_at": a["hold_expires_at"], "cancel_reason": None,
    }}
    # A cancelled booking says why: a peer learning of it here tells an expiry (a late payment may revive the
    # booking) from a final cancellation.
    assert client.post(f"/api/bookings/{b['id']}/cancel", headers=signing_keys.headers(5)).status_code == 200
    cancelled = client.get(f"/internal/bookings/{b['id']}").json()["data"]
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "user")
    assert client.get("/internal/bookings/999999").status_code == 404
    assert client.get("/internal/bookings/abc").status_code == 404


def test_openapi_documents_the_public_routes_only(start_booking):
    paths = start_booking().get("/openapi.json").json()["paths"]
    assert set(paths) == {"/api/bookings", "/api/bookings/{user_id}", "/api/bookings/{booking_id}/cancel",
                          "/api/bookings/admin/dead-letters", "/api/bookings/admin/dead-letters/{letter_id}/replay",
                          "/api/bookings/admin/audit",
                          "/api/bookings/{booking_id}/move-out", "/api/bookings/for-customer"}
    assert set(paths["/api/bookings"]) == {"get", "post"}
