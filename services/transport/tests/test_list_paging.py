"""GET /api/transport-requests a page at a time (limit, offset, order) and by several statuses at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

URL = "/api/transport-requests"
ADMIN = (900, "admin")


def listed(t: Any, query: str = "", *, user_id: int = 900, role: str = "admin") -> list[int]:
    response = t.client.get(f"{URL}{query}", headers=t.as_user(user_id, role))
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    return [item["id"] for item in response.json()["data"]]


def insert_many(t: Any, count: int, *, status: str = "completed", user_id: int = 1) -> list[int]:
    """`count` requests written straight to the table, one a day from 2030-01-01, in preferred-time order."""
    with t.db.begin() as conn:
        rows = conn.execute(
            text(
                "INSERT INTO transport_requests (user_id, pickup_address, delivery_address, distance, estimated_cost,"
                " preferred_time, items_description, status)"
                " SELECT :user_id, 'A', 'B', 1, 1100, timestamptz '2030-01-01 09:00+03' + n * interval '1 day',"
                " 'boxes', :status FROM generate_series(0, :count - 1) AS n ORDER BY n RETURNING id"
            ),
            {"user_id": user_id, "status": status, "count": count},
        )
        return [row[0] for row in rows]


def test_without_a_limit_a_page_is_200_rows_and_offset_gives_the_rest(t: Any) -> None:
    ids = insert_many(t, 203)
    assert listed(t) == ids[:200]
    assert listed(t, "?offset=200") == ids[200:]
    assert listed(t, "?offset=203") == []


def test_limit_and_offset_walk_the_list_without_repeating_or_skipping(t: Any) -> None:
    ids = insert_many(t, 7)
    # Two requests at the same moment: the id decides, so the pages stay put.
    same_time = [t.create(user_id=2, preferred_time="2031-01-01T09:00:00Z") for _ in range(2)]
    every = ids + same_time
    pages = [listed(t, f"?limit=4&offset={offset}") for offset in (0, 4, 8)]
    assert [i for page in pages for i in page] == every
    assert [len(page) for page in pages] == [4, 4, 1]


def test_desc_gives_the_latest_first(t: Any) -> None:
    ids = insert_many(t, 5)
    assert listed(t, "?order=desc&limit=2") == [ids[4], ids[3]]
    assert listed(t, "?order=desc&limit=2&offset=2") == [ids[2], ids[1]]
    assert listed(t, "?order=asc&limit=2") == ids[:2]


def test_recent_gives_the_last_changed_first(t: Any) -> None:
    """The dispatch board's closed requests: one just completed or cancelled comes first, whatever its trip date (by
    trip date it could land pages away, and seem to vanish from the board)."""
    later = insert_many(t, 3)  # closed long ago, trips in 2030
    with t.db.begin() as conn:
        conn.execute(text("UPDATE transport_requests SET updated_at = now() - interval '1 day' WHERE id = ANY(:ids)"),
                     {"ids": later})
    early = t.create(user_id=2, preferred_time="2029-06-01T09:00:00Z")
    for status in ("scheduled", "in_progress", "completed"):
        assert t.patch_status(early, status).status_code == 200
    assert listed(t, "?status=completed&order=recent&limit=2") == [early, later[2]]
    assert listed(t, "?status=completed&order=desc&limit=1") == [later[2]]  # by trip date it is the last
    bad = t.client.get(f"{URL}?order=newest", headers=t.as_user(*ADMIN))
    assert bad.status_code == 400, bad.text


def test_several_statuses_at_once(t: Any) -> None:
    done = insert_many(t, 2, status="completed")
    cancelled = insert_many(t, 2, status="cancelled")
    open_ = t.create(user_id=1)
    scheduled = t.create(user_id=2)
    assert t.patch_status(scheduled, "scheduled").status_code == 200
    # both inserts start on 2030-01-01: by preferred time, then id
    assert listed(t, "?status=completed&status=cancelled") == [done[0], cancelled[0], done[1], cancelled[1]]
    assert set(listed(t, "?status=requested&status=scheduled&status=in_progress")) == {open_, scheduled}
    assert listed(t, "?status=scheduled&status=scheduled") == [scheduled]  # the same twice is once
    assert set(listed(t, "?status=completed")) == set(done)


def test_a_customer_pages_only_their_own(t: Any) -> None:
    mine = insert_many(t, 3, user_id=5)
    insert_many(t, 3, user_id=6)
    assert listed(t, "?limit=2", user_id=5, role="user") == mine[:2]
    assert listed(t, "?limit=2&offset=2", user_id=5, role="user") == mine[2:]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=abc", "limit"),
        ("?offset=-1", "offset"),
        ("?offset=99999999999999999999", "offset"),
        ("?order=newest", "order"),
        ("?status=completed&status=lost", "status"),
        ("?status=", "status"),
    ],
)
def test_bad_paging_is_400_and_names_the_field(t: Any, query: str, field: str) -> None:
    response = t.client.get(f"{URL}{query}", headers=t.as_user(*ADMIN))
    assert response.status_code == 400, response.text
    assert response.json()["success"] is False
    assert field in [error["field"] for error in response.json()["errors"]]


def test_the_most_rows_at_once_is_1000(t: Any) -> None:
    ids = insert_many(t, 1001)
    assert listed(t, "?limit=1000") == ids[:1000]
