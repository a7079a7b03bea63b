"""Request and response models of the transport HTTP contract."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from jeshkit.schemas import UtcTimestamp

Status = Literal["requested", "scheduled", "in_progress", "completed", "cancelled"]

MAX_DISTANCE_KM = Decimal(500)
# Ids are PostgreSQL bigints; a larger number can only be an unknown id.
MAX_ID = 2**63 - 1


def _text(max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        if len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return value

    return AfterValidator(check)


def _not_a_bool(value: Any) -> Any:
    # pydantic would read true/false as 1/0; a flag is never a number here.
    if isinstance(value, bool):
        raise ValueError("must be a number")
    return value


def _check_distance(value: Decimal) -> Decimal:
    if value <= 0 or value > MAX_DISTANCE_KM:
        raise ValueError("must be greater than 0 and at most 500 (km)")
    return value


def _empty_booking_id_is_none(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a booking id")
    if isinstance(value, str) and not value.strip():
        return None  # a form that left "booking" unselected sends ""
    return value


def _parse_preferred_time(value: Any) -> datetime:
    example = "e.g. 2030-01-31T09:00:00+03:00 or 2030-01-31T06:00:00Z"
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO 8601 date-time string with a timezone, {example}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"must be an ISO 8601 date-time with a timezone, {example}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"must include a timezone offset or Z, {example}")
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if in_utc <= datetime.now(UTC):
        raise ValueError("must be in the future")
    return in_utc


Address = Annotated[str, _text(255), Field(json_schema_extra={"minLength": 1, "maxLength": 255})]
Distance = Annotated[
    Decimal, BeforeValidator(_not_a_bool), Field(allow_inf_nan=False), AfterValidator(_check_distance),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 500}),
]
PreferredTime = Annotated[datetime, BeforeValidator(_parse_preferred_time)]
BookingId = Annotated[Annotated[int, Field(gt=0, le=MAX_ID)] | None, BeforeValidator(_empty_booking_id_is_none)]


class TransportRequestCreate(BaseModel):
    """POST body; `estimated_cost`, `user_id` and `status` from the client are ignored."""

    model_config = ConfigDict(extra="ignore")

    booking_id: BookingId = None
    pickup_address: Address
    delivery_address: Address
    distance: Distance = Field(description="km, greater than 0 and at most 500; kept to 0.01 km (rounded up)")
    preferred_time: PreferredTime = Field(description="ISO 8601 with an offset or Z, in the future")
    items_description: Annotated[str, _text(1000), Field(json_schema_extra={"minLength": 1, "maxLength": 1000})]


class StatusChange(BaseModel):
    status: Status


class Created(BaseModel):
    id: int
    status: Status
    estimated_cost: int


class TransportRequestOut(BaseModel):
    id: int
    user_id: int
    booking_id: int | None
    pickup_address: str
    delivery_address: str
    distance: float
    estimated_cost: int
    preferred_time: UtcTimestamp
    items_description: str
    status: Status
    created_at: UtcTimestamp
