"""Response envelopes shared by every service's OpenAPI."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


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
