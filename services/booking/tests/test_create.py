"""POST /api/bookings: rules, price, the unit copy and its gap-fill, and the no-overlap invariant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from booking import service
from jeshkit.clock import nairobi_today
from jeshstack.testing import wait_for


def test_create_books_a_unit_at_the_servers_price(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(7, monthly_price=1000)
    before = datetime.now(UTC)

    r = client.post(
        "/api/bookings",
        json={"unit_id": 7, "start_date": day(1), "end_date": day(32), "total_price": 1},
        headers=signing_keys.headers(42),
    )

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["success"] is True
    booking = body["data"]
    assert booking["user_id"] == 42 and booking["unit_id"] == 7
    assert (booking["start_date"], booking["end_date"]) == (day(1), day(32))
    assert booking["total_price"] == 1034  # ceil(1000 * 31 / 30), never the client's 1
    assert (booking["status"], booking["payment_status"]) == ("pending", "pending")
    assert "refund_status" not in booking  # admin-only
    hold = datetime.fromisoformat(booking["hold_expires_at"])
    assert hold.utcoffset() == timedelta(0)
    assert timedelta(seconds=890) < hold - before < timedelta(seconds=910)  # default hold: 900 s
    assert datetime.fromisoformat(booking["created_at"]).utcoffset() == timedelta(0)

    [event] = kit.wait_events("BookingCreated", booking_id=booking["id"])
    assert event == {
        "booking_id": booking["id"],
        "user_id": 42,
        "unit_id": 7,
        "start_date": day(1),
        "end_date": day(32),
        "total_price": 1034,
        "plan": "fixed",
        "monthly_rate": None,
        "hold_expires_at": booking["hold_expires_at"],
    }


PRICES = [  # (monthly_price, days, expected total_price)
    (3000, 30, 3000), (3000, 1, 100), (1000, 1, 34), (999, 7, 234), (0, 10, 0), (123457, 1826, 7514417),
]


def test_price_is_ceil_of_monthly_price_times_days_over_30(start_booking, kit, signing_keys, day):
    client = start_booking()
    for unit_id, (monthly_price, days, expected) in enumerate(PRICES, start=1):
        kit.seed_unit(unit_id, monthly_price=monthly_price)
        r = client.post(
            "/api/bookings", json={"unit_id": unit_id, "start_date": day(0), "end_date": day(days)},
            headers=signing_keys.headers(1),
        )
        assert r.status_code == 201, r.text
        assert r.json()["data"]["total_price"] == expected, (monthly_price, days)


# (body, fields named in the errors); an int date is a day offset from today in Nairobi.
INVALID_BODIES = [
    ({"start_date": 1, "end_date": 5}, {"unit_id"}),
    ({"unit_id": 1, "end_date": 5}, {"start_date"}),
    ({"unit_id": 1, "start_date": 1}, {"end_date"}),
    ({"unit_id": "x", "start_date": 1, "end_date": 5}, {"unit_id"}),
    ({"unit_id": True, "start_date": 1, "end_date": 5}, {"unit_id"}),
    ({"unit_id": 0, "start_date": 1, "end_date": 5}, {"unit_id"}),
    ({"unit_id": 2**63, "start_date": 1, "end_date": 5}, {"unit_id"}),
    ({"unit_id": 1, "start_date": "tomorrow", "end_date": 5}, {"start_date"}),
    ({"unit_id": 1, "start_date": 1, "end_date": "2030-02-30"}, {"end_date"}),
    ({"unit_id": 1, "start_date": 1, "end_date": "20300101"}, {"end_date"}),
    ({"unit_id": 1, "start_date": 1, "end_date": 20300101}, {"end_date"}),
    ({"unit_id": 1, "start_date": -1, "end_date": 5}, {"start_date"}),  # yesterday in Nairobi
    ({"unit_id": 1, "start_date": 5, "end_date": 5}, {"end_date"}),  # empty range
    ({"unit_id": 1, "start_date": 5, "end_date": 4}, {"end_date"}),  # reversed
    ({"unit_id": 1, "start_date": -3, "end_date": -4}, {"start_date", "end_date"}),
]


def test_invalid_bodies_are_400_with_field_errors(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    for body, fields in INVALID_BODIES:
        sent = {k: day(v) if k.endswith("_date") and isinstance(v, int) and abs(v) < 1000 else v
                for k, v in body.items()}
        r = client.post("/api/bookings", json=sent, headers=signing_keys.headers(1))
        assert r.status_code == 400, (body, r.text)
        out = r.json()
        assert out["success"] is False and out["message"], body
        assert {e["field"] for e in out["errors"]} == fields, body
    assert kit.row("bookings", "unit_id", 1) is None


def test_at_most_five_years(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1, monthly_price=30)
    start = datetime.fromisoformat(day(3)).date()
    five_years = start.replace(year=start.year + 5)  # (not 29 February: day(3) is never that close to a leap day
    if start.month == 2 and start.day == 29:  # ... except when it is)
        five_years = start.replace(year=start.year + 5, day=28)

    too_long = client.post(
        "/api/bookings",
        json={"unit_id": 1, "start_date": start.isoformat(), "end_date": (five_years + timedelta(days=1)).isoformat()},
        headers=signing_keys.headers(1),
    )
    assert too_long.status_code == 400
    assert too_long.json()["errors"] == [{"field": "end_date", "message": "A booking may last at most 5 years"}]

    longest = client.post(
        "/api/bookings",
        json={"unit_id": 1, "start_date": start.isoformat(), "end_date": five_years.isoformat()},
        headers=signing_keys.headers(1),
    )
    assert longest.status_code == 201, longest.text
    assert longest.json()["data"]["total_price"] == (five_years - start).days

    # Nor may it start more than 5 years ahead (a monthly rental from 9999-12-01 was taken; billing cannot bill it).
    just_past = service.years_after(nairobi_today(), 5) + timedelta(days=1)
    for plan, far in (("fixed", just_past), ("monthly", date(9999, 12, 1))):
        body = {"unit_id": 1, "start_date": far.isoformat(), "plan": plan}
        if plan == "fixed":
            body["end_date"] = (far + timedelta(days=30)).isoformat()
        refused = client.post("/api/bookings", json=body, headers=signing_keys.headers(1))
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"] == [{"field": "start_date", "message": "start_date must be within 5 years"}]


def test_body_that_is_not_a_json_object_is_400(start_booking, signing_keys):
    client = start_booking()
    for content in (b"[1, 2]", b"not json", b""):
        r = client.post(
            "/api/bookings", content=content,
            headers={**signing_keys.headers(1), "Content-Type": "application/json"},
        )
        assert r.status_code == 400, (content, r.text)
        assert r.json()["success"] is False


def test_create_needs_a_valid_token(start_booking, signing_keys, day):
    client = start_booking()
    body = {"unit_id": 1, "start_date": day(1), "end_date": day(2)}
    assert client.post("/api/bookings", json=body).status_code == 401
    expired = {"Authorization": f"Bearer {signing_keys.token(1, expires_in=-10)}"}
    r = client.post("/api/bookings", json=body, headers=expired)
    assert r.status_code == 401
    assert r.json() == {"success": False, "message": "Token expired"}


def test_collection_path_answers_with_trailing_slash(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    r = client.post("/api/bookings/", json={"unit_id": "1", "start_date": day(1), "end_date": day(2)},
                    headers=signing_keys.headers(1))
    assert r.status_code == 201, r.text  # (a unit id sent as a string of digits is accepted too)


# --- units: unknown, maintenance, the copy and its gap-fill -----------------------------------------------
def test_unknown_unit_is_404_after_asking_inventory(start_booking, kit, signing_keys, day):
    client = start_booking()
    r = client.post("/api/bookings", json={"unit_id": 404, "start_date": day(1), "end_date": day(2)},
                    headers=signing_keys.headers(1))
    assert r.status_code == 404
    assert r.json() == {"success": False, "message": "Unit not found"}
    assert kit.inventory.asked == [404]


def test_unit_not_heard_of_yet_is_fetched_from_inventory_once(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.inventory.add(9, monthly_price=600)

    first = client.post("/api/bookings", json={"unit_id": 9, "start_date": day(1), "end_date": day(31)},
                        headers=signing_keys.headers(1))
    assert first.status_code == 201, first.text
    assert first.json()["data"]["total_price"] == 600
    second = client.post("/api/bookings", json={"unit_id": 9, "start_date": day(31), "end_date": day(32)},
                         headers=signing_keys.headers(2))
    assert second.status_code == 201, second.text

    assert kit.inventory.asked == [9]  # the copy answers the second time
    assert kit.unit_row(9)["monthly_price"] == 600


def test_fetched_unit_in_maintenance_is_not_available(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.inventory.add(9, bookable=False)
    r = client.post("/api/bookings", json={"unit_id": 9, "start_date": day(1), "end_date": day(3)},
                    headers=signing_keys.headers(1))
    assert r.status_code == 400
    assert r.json() == {"success": False, "message": "Unit not available"}


def test_an_unusable_answer_from_inventory_is_503_and_not_stored(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.inventory.units[8] = {"unit_id": 8, "unit_number": "U-8"}  # no price, no bookable flag
    r = client.post("/api/bookings", json={"unit_id": 8, "start_date": day(1), "end_date": day(3)},
                    headers=signing_keys.headers(1))
    assert r.status_code == 503
    assert r.json()["success"] is False
    assert kit.unit_row(8) is None


def test_inventory_unreachable_is_503(start_booking, signing_keys, day):
    from jeshstack.procs import free_port

    client = start_booking(inventory_url=f"http://127.0.0.1:{free_port()}")
    r = client.post("/api/bookings", json={"unit_id": 3, "start_date": day(1), "end_date": day(3)},
                    headers=signing_keys.headers(1))
    assert r.status_code == 503
    assert r.json()["success"] is False


def test_unit_in_maintenance_then_back(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(5, bookable=False)
    body = {"unit_id": 5, "start_date": day(1), "end_date": day(3)}

    refused = client.post("/api/bookings", json=body, headers=signing_keys.headers(1))
    assert refused.status_code == 400
    assert refused.json()["message"] == "Unit not available"

    kit.bus.publish("UnitUpdated", {"unit_id": 5, "unit_number": "U-5", "size": "small",
                                    "monthly_price": 3000, "bookable": True})
    wait_for(lambda: kit.unit_row(5)["bookable"], what="unit 5 bookable again")
    assert client.post("/api/bookings", json=body, headers=signing_keys.headers(1)).status_code == 201
    assert kit.inventory.asked == []  # known from events: inventory never asked


def test_unit_updates_change_the_price_of_new_bookings(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(5, monthly_price=3000)
    kit.bus.publish("UnitUpdated", {"unit_id": 5, "unit_number": "U-5", "size": "large",
                                    "monthly_price": 6000, "bookable": True})
    wait_for(lambda: kit.unit_row(5)["monthly_price"] == 6000, what="new price")
    r = client.post("/api/bookings", json={"unit_id": 5, "start_date": day(1), "end_date": day(31)},
                    headers=signing_keys.headers(1))
    assert r.json()["data"]["total_price"] == 6000


def test_an_older_unit_event_arriving_late_changes_nothing(start_booking, kit):
    start_booking()
    now = datetime.now(UTC)
    unit = {"unit_id": 6, "unit_number": "U-6", "size": "small"}
    kit.publish_at("UnitUpdated", {**unit, "monthly_price": 5000, "bookable": False}, now)
    wait_for(lambda: kit.unit_row(6), what="unit 6")
    kit.publish_at("UnitCreated", {**unit, "monthly_price": 1000, "bookable": True}, now - timedelta(seconds=5))
    kit.publish_at("UnitUpdated", {**unit, "monthly_price": 7000, "bookable": False}, now + timedelta(seconds=1))

    wait_for(lambda: kit.unit_row(6)["monthly_price"] == 7000, what="the newest snapshot")
    kit.seed_unit(99)  # a later event has been applied too: the consumer is past the late one
    row = kit.unit_row(6)
    assert (row["monthly_price"], row["bookable"]) == (7000, False)


# --- the no-overlap invariant -----------------------------------------------------------------------------
def test_overlapping_ranges_are_refused_and_adjacent_ranges_both_succeed(start_booking, kit, signing_keys, day):
    client = start_booking()
    kit.seed_unit(1)
    kit.seed_unit(2)

    def book(user: int, unit: int, start: int, end: int) -> int:
        return client.post("/api/bookings", json={"unit_id": unit, "start_date": day(start), "end_date": day(end)},
                           headers=signing_keys.headers(user)).status_code

    assert book(1, 1, 10, 20) == 201
    assert book(2, 1, 20, 30) == 201  # [10, 20) then [20, 30): adjacent
    assert book(3, 1, 5, 10) == 201  # [5, 10) before it
    for start, end in [(10, 20), (19, 21), (5, 11), (0, 40), (12, 13), (29, 31)]:
        r = client.post("/api/bookings", json={"unit_id": 1, "start_date": day(start), "end_date": day(end)},
                        headers=signing_keys.headers(4))
        assert r.status_code == 400, (start, end)
        assert r.json() == {"success": False, "message": "Unit not available"}
    assert book(4, 2, 10, 20) == 201  # same dates, other unit
    assert book(1, 1, 30, 31) == 201


def test_fifty_concurrent_requests_for_one_unit_give_exactly_one_booking(start_booking, kit, signing_keys, day):
    import threading

    import httpx

    replicas = [start_booking(serve=True) for _ in range(2)]
    kit.seed_unit(1)
    barrier = threading.Barrier(50)
    results: list[int] = [0] * 50

    def attempt(i: int) -> None:
        port = replicas[i % 2].port
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            headers = signing_keys.headers(1000 + i)
            barrier.wait()
            # every range overlaps every other one (all contain day 20)
            r = http.post("/api/bookings", json={"unit_id": 1, "start_date": day(10 + i % 10),
                                                 "end_date": day(21 + i % 7)}, headers=headers)
            results[i] = r.status_code
            if r.status_code == 400:
                assert r.json()["message"] == "Unit not available"

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == [201] + [400] * 49
    with kit.db.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM bookings")).scalar() == 1
    kit.wait_events("BookingCreated", 1)
    assert len(kit.events("BookingCreated")) == 1
