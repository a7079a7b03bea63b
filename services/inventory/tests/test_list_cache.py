"""The list's cache: served from memory, yet every replica shows a committed change at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from jeshstack.testing import wait_for


def listed(replica, unit_id: int) -> dict:
    return next(u for u in replica.get("/api/units").json()["data"] if u["id"] == unit_id)


def test_a_change_through_one_replica_shows_at_once_on_the_other(
    client, start_inventory, new_unit, admin, bookings, today
):
    other = start_inventory()  # a second replica on the same database
    wait_for(lambda: other.app.state.response_cache._listener.connected, timeout=10, what="the cache listener")
    unit = new_unit(monthly_price=3000)
    assert listed(other, unit["id"])["monthly_price"] == 3000  # now cached in `other`
    assert other.app.state.response_cache.get(("/api/units", b"")) is not None

    assert client.put(f"/api/units/{unit['id']}", json={"monthly_price": 3500}, headers=admin).status_code == 200
    wait_for(lambda: listed(other, unit["id"])["monthly_price"] == 3500, timeout=1, what="the new price")

    # A new unit too (before: missing from the other replica's list until its entry aged, 10 s).
    added = new_unit()
    wait_for(lambda: added["id"] in [u["id"] for u in other.get("/api/units").json()["data"]], timeout=1,
             what="the new unit in the other replica")

    # A booking event applied by whichever replica consumed it empties every replica's cache too.
    start, end = today + timedelta(days=3), today + timedelta(days=10)
    bookings.created(501, unit["id"], start, end)
    wait_for(lambda: listed(other, unit["id"])["status"] == "booked", timeout=1, what="booked in the other replica")


def test_the_replica_that_made_a_change_shows_it_to_the_very_next_read(client, new_unit, admin):
    new_unit()
    for i in range(20):  # no pause between the write and the read
        created = new_unit()
        assert created["id"] in [u["id"] for u in client.get("/api/units").json()["data"]], i


def test_a_change_nobody_announced_is_not_seen_until_the_entry_ages(client, new_unit, service_db):
    # The counter-test: proves the answers really are served from the cache.
    wait_for(lambda: client.app.state.response_cache._listener.connected, timeout=10, what="the cache listener")
    unit = new_unit(monthly_price=3000)
    assert listed(client, unit["id"])["monthly_price"] == 3000
    with service_db.begin() as conn:  # behind the service's back: no NOTIFY
        conn.execute(text("UPDATE units SET monthly_price = 9999 WHERE id = :id"), {"id": unit["id"]})
    assert listed(client, unit["id"])["monthly_price"] == 3000
    client.app.state.response_cache.invalidate()
    assert listed(client, unit["id"])["monthly_price"] == 9999
