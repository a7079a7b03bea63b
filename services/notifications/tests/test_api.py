"""The HTTP contract: the caller's messages (admin: everyone's), preferences, errors."""

from __future__ import annotations

import pytest


def test_a_customer_sees_only_their_own_messages_newest_first_and_an_admin_sees_all(n):
    n.user(1, phone="254700000001")
    n.user(2, phone="254700000002")
    n.publish("RefundPaid", {"refund_id": 1, "booking_id": 5, "invoice_id": None, "user_id": 1, "amount": 3500,
                             "method": "mpesa", "receipt": "RFD1"}, source="payments")
    n.wait_rows(6)
    mine = n.client.get("/api/notifications", headers=n.keys.headers(1)).json()
    assert mine["success"] is True
    assert [(m["template"], m["user_id"]) for m in mine["data"]][:2] == [("refund_paid", 1)] * 2
    assert {m["user_id"] for m in mine["data"]} == {1} and len(mine["data"]) == 4
    first = mine["data"][0]
    assert set(first) == {"id", "user_id", "channel", "to", "template", "language", "body", "status", "created_at",
                          "sent_at"}
    sms = n.client.get("/api/notifications", params={"channel": "sms", "template": "welcome"},
                       headers=n.keys.headers(1)).json()["data"]
    assert [(m["channel"], m["template"], m["to"]) for m in sms] == [("sms", "welcome", "254700000001")]
    # Another user's id in the filter does not widen a customer's view.
    assert {m["user_id"] for m in n.client.get("/api/notifications", params={"user_id": 2},
                                               headers=n.keys.headers(1)).json()["data"]} == {1}
    admin = n.keys.headers(900, "admin")
    assert len(n.client.get("/api/notifications", headers=admin).json()["data"]) == 6
    only_two = n.client.get("/api/notifications", params={"user_id": 2}, headers=admin).json()["data"]
    assert {m["user_id"] for m in only_two} == {2} and len(only_two) == 2


def test_an_admin_pages_through_every_message_newest_first_with_offset(n):
    """More messages than one page: `offset` reaches the older ones, each exactly once, in one stable order (the
    SMS and the email of one event share their created_at: the id breaks the tie)."""
    n.user(6, phone="254700000006")
    for refund_id in (1, 2, 3):
        n.publish("RefundPaid", {"refund_id": refund_id, "booking_id": 5, "invoice_id": None, "user_id": 6,
                                 "amount": 1000 * refund_id, "method": "mpesa", "receipt": f"RFD{refund_id}"},
                  source="payments")
    n.wait_rows(8, user_id=6)
    admin = n.keys.headers(900, "admin")
    everything = n.client.get("/api/notifications", params={"user_id": 6}, headers=admin).json()["data"]
    assert len(everything) == 8
    assert everything == sorted(everything, key=lambda m: (m["created_at"], m["id"]), reverse=True)
    pages = [n.client.get("/api/notifications", params={"user_id": 6, "limit": 3, "offset": offset},
                          headers=admin).json()["data"] for offset in (0, 3, 6, 9)]
    assert [len(page) for page in pages] == [3, 3, 2, 0]
    assert [m["id"] for page in pages for m in page] == [m["id"] for m in everything]
    assert pages[2][-1]["template"] == "welcome"  # the oldest, out of reach of the first page
    # A customer pages through their own the same way.
    theirs = n.client.get("/api/notifications", params={"limit": 2, "offset": 6}, headers=n.keys.headers(6))
    assert [m["id"] for m in theirs.json()["data"]] == [m["id"] for m in everything[6:]]
    bad = n.client.get("/api/notifications", params={"offset": -1}, headers=admin)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "offset"


@pytest.mark.parametrize("path", ["/api/notifications", "/api/notifications/preferences"])
def test_without_a_token_401(n, path):
    r = n.client.get(path)
    assert r.status_code == 401 and r.json() == {"success": False, "message": "Authentication required"}


@pytest.mark.parametrize("params", [{"channel": "fax"}, {"template": "nope"}, {"limit": 0}])
def test_bad_filters_400(n, params):
    r = n.client.get("/api/notifications", params=params, headers=n.keys.headers(1))
    assert r.status_code == 400 and r.json()["success"] is False and r.json()["errors"]


@pytest.mark.parametrize("body", [{"language": "fr"}, {"sms": "no"}, {"email": 1}, [1]])
def test_bad_preferences_400_and_nothing_changes(n, body):
    before = n.client.get("/api/notifications/preferences", headers=n.keys.headers(3)).json()["data"]
    r = n.client.put("/api/notifications/preferences", json=body, headers=n.keys.headers(3))
    assert r.status_code == 400 and r.json()["success"] is False
    assert n.client.get("/api/notifications/preferences", headers=n.keys.headers(3)).json()["data"] == before


def test_preferences_are_kept_and_partial_updates_keep_the_rest(n):
    headers = n.keys.headers(4)
    assert n.client.get("/api/notifications/preferences", headers=headers).json()["data"] == {
        "user_id": 4, "language": "en", "sms": True, "email": True}
    r = n.client.put("/api/notifications/preferences", json={"language": "sw", "sms": False, "email": False},
                     headers=headers)
    assert r.status_code == 200
    r = n.client.put("/api/notifications/preferences", json={"email": True}, headers=headers)
    assert r.json()["data"] == {"user_id": 4, "language": "sw", "sms": False, "email": True}
    # Preferences set before auth's event arrives survive it.
    n.publish("UserRegistered", {"user_id": 4, "email": "four@example.co.ke", "name": "Juma", "role": "user",
                                 "phone": "254700000004"}, source="auth")
    rows = n.wait_rows(2, user_id=4)
    assert {r["language"] for r in rows} == {"sw"}  # a welcome is not a reminder: it goes on both channels


def test_the_support_number_is_public_and_cacheable(start_notifications):
    n = start_notifications(support_phone="0711 222 333")
    r = n.client.get("/api/notifications/support")  # no token: the portal shows it to everyone
    assert r.status_code == 200 and r.json() == {"success": True, "data": {"phone": "0711 222 333"}}
    assert r.headers["cache-control"] == "public, max-age=300"
