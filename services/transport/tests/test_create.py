"""POST /api/transport-requests: the server's price, validation, the creation event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jeshstack.testing import wait_for

URL = "/api/transport-requests"


def test_create_answers_201_with_id_status_and_the_servers_price(t: Any) -> None:
    body = t.body(distance=12.5, estimated_cost=1, user_id=77, status="completed")
    response = t.post(body, user_id=5)

    assert response.status_code == 201
    payload = response.json()
    assert payload["success"] is True
    assert set(payload["data"]) == {"id", "status", "estimated_cost"}
    assert payload["data"]["status"] == "requested"
    assert payload["data"]["estimated_cost"] == 1000 + 1250  # the client's 1 is ignored

    listed = t.client.get(f"{URL}/5", headers=t.as_user(5)).json()["data"]
    assert len(listed) == 1
    item = listed[0]
    assert item["id"] == payload["data"]["id"]
    assert item["user_id"] == 5  # from the token, not the body
    assert item["booking_id"] is None
    assert item["pickup_address"] == body["pickup_address"]
    assert item["delivery_address"] == body["delivery_address"]
    assert item["distance"] == 12.5
    assert item["estimated_cost"] == 2250
    assert item["items_description"] == body["items_description"]
    assert item["status"] == "requested"
    assert datetime.fromisoformat(item["preferred_time"]) == datetime.fromisoformat(body["preferred_time"])
    assert item["preferred_time"].endswith("+00:00")
    created_at = datetime.fromisoformat(item["created_at"])
    assert abs(created_at - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("distance", "stored", "cost"),
    [
        (12.5, 12.5, 2250),
        (10, 10.0, 2000),
        (0.01, 0.01, 1001),
        (3.33, 3.33, 1333),
        (499.999, 500.0, 51000),  # kept to 0.01 km, rounded up
        (500, 500.0, 51000),
        (12.341, 12.35, 2235),
        ("7.5", 7.5, 1750),  # a number in a string, as a form field sends it
        (0.001, 0.01, 1001),  # a tiny positive distance never becomes 0
        # Digits beyond the decimal context's 28, and an exponent below its -999999: 1100 and 1000 before
        ("1.00000000000000000000000000001", 1.01, 1101),
        ("1e-9999999999", 0.01, 1001),
    ],
)
def test_estimated_cost_is_base_fee_plus_ceil_of_distance_times_rate(
    t: Any, distance: Any, stored: float, cost: int
) -> None:
    response = t.post(t.body(distance=distance))
    assert response.status_code == 201, response.text
    assert response.json()["data"]["estimated_cost"] == cost
    assert t.client.get(f"{URL}/1", headers=t.as_user(1)).json()["data"][0]["distance"] == stored


def test_tariff_comes_from_settings(t: Any, start_transport: Any) -> None:
    t.client = start_transport(transport_base_fee=500, transport_per_km=75)
    response = t.post(t.body(distance=3.3))
    assert response.status_code == 201
    assert response.json()["data"]["estimated_cost"] == 500 + 248  # ceil(3.3 * 75) = ceil(247.5)


@pytest.mark.parametrize(("distance", "cost"), [(1.001, 1151), (0.0333, 1005), (12.345, 2852), (12.5, 2875)])
def test_the_price_is_of_the_distance_sent_not_of_the_distance_kept(
    t: Any, start_transport: Any, distance: float, cost: int
) -> None:
    # The contract: base fee + ceil(distance * rate). Before: priced on the distance kept (rounded up to 0.01 km),
    # 1 KES more at 150 KES a km for 1.001 km (1.01 * 150 = 151.5).
    t.client = start_transport(transport_per_km=150)
    response = t.post(t.body(distance=distance))
    assert response.status_code == 201, response.text
    assert response.json()["data"]["estimated_cost"] == cost


def test_creation_publishes_transport_status_changed_with_no_previous_status(t: Any) -> None:
    request_id = t.create(user_id=3)
    events = wait_for(t.status_events, what="TransportStatusChanged")
    assert events == [
        {"request_id": request_id, "user_id": 3, "booking_id": None, "status": "requested", "previous_status": None}
    ]


def test_text_fields_are_trimmed(t: Any) -> None:
    t.create(pickup_address="  Westlands  ", delivery_address="\tKaren\n", items_description="  a fridge ")
    item = t.client.get(f"{URL}/1", headers=t.as_user(1)).json()["data"][0]
    assert (item["pickup_address"], item["delivery_address"], item["items_description"]) == (
        "Westlands",
        "Karen",
        "a fridge",
    )


def in_hours(hours: float, *, offset: str = "+00:00") -> str:
    moment = datetime.now(UTC) + timedelta(hours=hours)
    return moment.replace(tzinfo=None).isoformat() + offset


INVALID = [
    ("pickup_address", ""),
    ("pickup_address", "   "),
    ("pickup_address", "x" * 256),
    ("pickup_address", None),
    ("pickup_address", 12),
    ("delivery_address", ""),
    ("delivery_address", "y" * 256),
    ("distance", 0),
    ("distance", -3),
    ("distance", 500.01),
    ("distance", 501),
    ("distance", "far"),
    ("distance", "NaN"),
    ("distance", True),
    ("distance", None),
    ("distance", [5]),
    ("preferred_time", in_hours(-1)),  # in the past
    ("preferred_time", in_hours(48, offset="")),  # naive: which timezone?
    ("preferred_time", "2030-01-31"),  # a date is not a time
    ("preferred_time", "tomorrow at nine"),
    ("preferred_time", 1893456000),
    ("preferred_time", None),
    ("items_description", ""),
    ("items_description", "   "),
    ("items_description", "z" * 1001),
    ("items_description", None),
    ("booking_id", 0),
    ("booking_id", -1),
    ("booking_id", "abc"),
    ("booking_id", True),
    ("booking_id", 2**63),
]


def test_each_invalid_field_is_400_with_that_field_named(t: Any) -> None:
    # One service for the whole table: starting one per row would cost more than the checks.
    for field, value in INVALID:
        response = t.post(t.body(**{field: value}))
        case = f"{field}={value!r}"[:60]
        assert response.status_code == 400, (case, response.text)
        body = response.json()
        assert body["success"] is False, case
        assert body["message"], case
        assert [error["field"] for error in body["errors"]] == [field], (case, body)
    assert t.statuses() == {}


def test_naive_preferred_time_says_a_timezone_is_needed(t: Any) -> None:
    response = t.post(t.body(preferred_time=in_hours(48, offset="")))
    [error] = response.json()["errors"]
    assert error["field"] == "preferred_time"
    assert "timezone" in error["message"]


@pytest.mark.parametrize("offset", ["Z", "+03:00", "-05:30"])
def test_preferred_time_with_any_offset_is_stored_as_that_instant(t: Any, offset: str) -> None:
    response = t.post(t.body(preferred_time=in_hours(30, offset=offset)))
    assert response.status_code == 201, response.text


REQUIRED = ["pickup_address", "delivery_address", "distance", "preferred_time", "items_description"]


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_missing_required_field_is_400(t: Any, missing: str) -> None:
    body = t.body()
    del body[missing]
    response = t.post(body)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [missing]


def test_every_invalid_field_is_reported_at_once(t: Any) -> None:
    response = t.post({"distance": 0, "pickup_address": ""})
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == set(REQUIRED)


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'"text"', b"", b"{"])
def test_a_body_that_is_not_a_json_object_is_400(t: Any, raw: bytes) -> None:
    response = t.client.post(URL, content=raw, headers={**t.as_user(1), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["success"] is False


def test_empty_booking_id_means_no_booking(t: Any) -> None:
    response = t.post(t.body(booking_id=""))
    assert response.status_code == 201
    response = t.post(t.body(booking_id=None))
    assert response.status_code == 201


def test_trailing_slash_reaches_the_same_route(t: Any) -> None:
    response = t.client.post(f"{URL}/", json=t.body(), headers=t.as_user(1))
    assert response.status_code == 201


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["none", "garbage", "basic"],
)
def test_create_needs_a_valid_token(t: Any, headers: dict[str, str]) -> None:
    response = t.client.post(URL, json=t.body(), headers=headers)
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert t.statuses() == {}


def test_an_expired_token_is_401(t: Any) -> None:
    token = t.keys.token(1, expires_in=-60)
    response = t.client.post(URL, json=t.body(), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
