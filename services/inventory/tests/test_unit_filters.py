"""The list's filters: status, size, price range, and free-for-a-whole-range availability; bad values are 400."""

from __future__ import annotations

from datetime import timedelta

import pytest


def ids(client, **params) -> list[int]:
    response = client.get("/api/units", params=params)
    assert response.status_code == 200, response.text
    return [unit["id"] for unit in response.json()["data"]]


def test_status_filter_follows_bookings_and_maintenance(client, admin, new_unit, bookings, today):
    free, held, fixing = new_unit(), new_unit(), new_unit()
    bookings.created(1, held["id"], today, today + timedelta(days=7))
    client.put(f"/api/units/{fixing['id']}", json={"status": "maintenance"}, headers=admin)

    assert ids(client, status="available") == [free["id"]]
    assert ids(client, status="booked") == [held["id"]]
    assert ids(client, status="maintenance") == [fixing["id"]]
    statuses = {u["id"]: u["status"] for u in client.get("/api/units").json()["data"]}
    assert statuses == {free["id"]: "available", held["id"]: "booked", fixing["id"]: "maintenance"}


def test_size_and_price_filters(client, new_unit):
    small = new_unit(size="Small", monthly_price=2000)
    medium = new_unit(size="medium", monthly_price=5000)
    large = new_unit(size="large", monthly_price=9000)

    assert ids(client, size="small") == [small["id"]]
    assert ids(client, size=" MEDIUM ") == [medium["id"]]
    assert ids(client, size="med") == []
    assert ids(client, min_price=5000) == [medium["id"], large["id"]]
    assert ids(client, max_price=5000) == [small["id"], medium["id"]]
    assert ids(client, min_price=2001, max_price=8999) == [medium["id"]]
    assert ids(client, min_price=5000, max_price=5000, size="medium") == [medium["id"]]
    assert ids(client, min_price=0, max_price=10**15) == [small["id"], medium["id"], large["id"]]


def test_empty_filter_values_filter_nothing(client, new_unit):
    unit = new_unit()
    blank = {"status": "", "size": " ", "min_price": "", "max_price": "", "available_from": "", "available_to": ""}
    assert ids(client, **blank) == [unit["id"]]
    assert ids(client, size="", max_price=unit["monthly_price"]) == [unit["id"]]


def test_available_range_filter_keeps_only_units_free_for_the_whole_range(client, admin, new_unit, bookings, today):
    d = today + timedelta(days=10)
    booked = new_unit()  # confirmed for [d, d+10)
    held = new_unit()  # held for [d+5, d+8)
    expired = new_unit()  # its hold for [d, d+30) has expired
    cancelled = new_unit()  # cancelled booking for [d, d+30)
    free = new_unit()
    fixing = new_unit()
    bookings.confirmed(1, booked["id"], d, d + timedelta(days=10))
    bookings.created(2, held["id"], d + timedelta(days=5), d + timedelta(days=8))
    bookings.created(3, expired["id"], d, d + timedelta(days=30), hold_seconds=-1)
    bookings.created(4, cancelled["id"], d, d + timedelta(days=30))
    bookings.cancelled(4, cancelled["id"], d, d + timedelta(days=30))
    client.put(f"/api/units/{fixing['id']}", json={"status": "maintenance"}, headers=admin)

    def free_for(start, end):
        return ids(client, available_from=start.isoformat(), available_to=end.isoformat())

    always_free = [expired["id"], cancelled["id"], free["id"]]
    assert free_for(d - timedelta(days=5), d) == [booked["id"], held["id"], *always_free]  # ends as d starts
    assert free_for(d - timedelta(days=5), d + timedelta(days=1)) == [held["id"], *always_free]
    assert free_for(d + timedelta(days=6), d + timedelta(days=7)) == always_free  # inside both
    assert free_for(d + timedelta(days=8), d + timedelta(days=9)) == [held["id"], *always_free]
    assert free_for(d + timedelta(days=10), d + timedelta(days=40)) == [booked["id"], held["id"], *always_free]
    assert free_for(d - timedelta(days=1), d + timedelta(days=40)) == always_free  # covers both
    # Combined with the other filters: `held` is free that day but its status is `booked` (a booking to come).
    assert ids(client, available_from=d.isoformat(), available_to=(d + timedelta(days=1)).isoformat(),
               status="available") == always_free


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "free"}, "status"),
        ({"min_price": "abc"}, "min_price"),
        ({"min_price": "10.5"}, "min_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"min_price": "500", "max_price": "100"}, "max_price"),
        ({"available_from": "2030-01-01"}, "available_to"),
        ({"available_to": "2030-01-01"}, "available_from"),
        ({"available_from": "2030-01-10", "available_to": "2030-01-10"}, "available_to"),
        ({"available_from": "2030-01-10", "available_to": "2030-01-01"}, "available_to"),
        ({"available_from": "2030-02-30", "available_to": "2030-03-10"}, "available_from"),
        ({"available_from": "2030-1-1", "available_to": "2030-03-10"}, "available_from"),
        ({"available_from": "1893456000", "available_to": "2030-03-10"}, "available_from"),
        ({"available_from": "2030-01-01T00:00:00", "available_to": "2030-03-10"}, "available_from"),
        ({"size": "x" * 51}, "size"),
    ],
)
def test_invalid_filters_are_400_with_the_field(client, params, field):
    response = client.get("/api/units", params=params)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["success"] is False
    assert field in {error["field"] for error in payload["errors"]}


@pytest.mark.parametrize("bad", ["2030-1-1", "1893456000", "20300101", "2030-01-01T00:00:00", "2030-02-30", "x" * 300])
def test_a_bad_date_filter_is_told_in_words_not_as_a_pattern(client, bad):
    response = client.get("/api/units", params={"available_from": bad, "available_to": "2030-03-10"})
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [
        {"field": "available_from", "message": "Must be a real date in the form YYYY-MM-DD"}
    ]


def test_a_size_with_a_non_ascii_capital_is_found_by_itself(client, new_unit):
    unit = new_unit(size="Ndogo Ürefu")
    new_unit(size="ndogo")
    assert ids(client, size="Ndogo Ürefu") == [unit["id"]]
    assert ids(client, size=" NDOGO ÜREFU ") == [unit["id"]]
