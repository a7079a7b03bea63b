"""Bad text and dates at the edge of the calendar are 400, never 500 (issue 12 item 10)."""

from __future__ import annotations

import json
from typing import Any

import pytest

FIELDS = ["pickup_address", "delivery_address", "items_description"]


@pytest.mark.parametrize("field", [*FIELDS, "preferred_time"])
@pytest.mark.parametrize("bad", ["x\u0000y", "x\ud800"])
def test_text_fields_refuse_bad_text(t: Any, field: str, bad: str) -> None:
    body = t.body(**{field: (t.body()[field] + bad) if field == "preferred_time" else bad})
    r = t.client.post("/api/transport-requests", content=json.dumps(body),
                      headers={**t.as_user(1), "content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == field
    assert t.statuses() == {}


@pytest.mark.parametrize("query", ["date=0001-01-01", "date=9999-12-31", "from=0001-01-01", "to=9999-12-31",
                                   "from=0001-01-01&to=9999-12-31"])
def test_dates_at_the_edge_of_the_calendar_are_400(t: Any, query: str) -> None:
    r = t.client.get(f"/api/transport-requests?{query}", headers=t.as_user(1))
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False
