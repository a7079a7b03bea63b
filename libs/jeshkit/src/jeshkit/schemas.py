"""Response envelopes shared by every service's OpenAPI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, PlainSerializer, WithJsonSchema

T = TypeVar("T")


def _utc_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# Every moment in an answer, in every service: ISO 8601 in UTC with its offset, "2026-12-05T07:43:26.123456+00:00"
# (pydantic alone writes a zero offset as "Z": payments and auth did, booking and transport did not).
UtcTimestamp = Annotated[datetime, PlainSerializer(_utc_iso, return_type=str),
                         WithJsonSchema({"type": "string", "format": "date-time"})]


class Envelope(BaseModel, Generic[T]):
    """Every success answer: {"success": true, "data": ...}; a route declares `response_model=Envelope[T]`."""

    success: bool = True
    data: T


class MessageEnvelope(BaseModel, Generic[T]):
    """The success envelope with a sentence, for the few answers whose contract carries one."""

    success: bool = True
    message: str
    data: T


class FieldError(BaseModel):
    field: str
    message: str


class ErrorEnvelope(BaseModel):
    success: bool = False
    message: str
    errors: list[FieldError] | None = None


# Declared on routes so that the OpenAPI documents the error envelope.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorEnvelope} for code in (400, 401, 403, 404, 409, 502, 503)
}
