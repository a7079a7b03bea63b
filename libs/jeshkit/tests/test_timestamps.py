"""Every moment in an answer is written one way, in every service: ISO 8601, UTC, offset +00:00."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from pydantic import BaseModel, TypeAdapter

from jeshkit.schemas import UtcTimestamp


class Answer(BaseModel):
    at: UtcTimestamp
    maybe: UtcTimestamp | None = None


def test_a_moment_is_written_in_utc_with_its_offset_never_z() -> None:
    nairobi = timezone(timedelta(hours=3))
    answer = Answer(at=datetime(2026, 12, 5, 10, 30, 0, 250, tzinfo=nairobi), maybe=datetime(2026, 1, 1, tzinfo=UTC))
    assert json.loads(answer.model_dump_json()) == {"at": "2026-12-05T07:30:00.000250+00:00",
                                                     "maybe": "2026-01-01T00:00:00+00:00"}
    assert Answer(at=datetime(2026, 1, 1, tzinfo=UTC)).model_dump(mode="json")["maybe"] is None


def test_the_openapi_still_says_date_time() -> None:
    schema = TypeAdapter(UtcTimestamp).json_schema(mode="serialization")
    assert schema == {"type": "string", "format": "date-time"}
