"""Request and response models of the inventory service (the HTTP contract)."""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints, field_validator

UnitStatus = Literal["available", "booked", "maintenance"]

# Far above any real storage rent, far below what a bigint or a 5-year booking total could overflow.
MAX_MONTHLY_PRICE = 10_000_000

UnitNumber = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Size = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Dimensions = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[StrictStr, StringConstraints(strip_whitespace=True, max_length=2000)]
MonthlyPrice = Annotated[StrictInt, Field(gt=0, le=MAX_MONTHLY_PRICE, description="KES per month")]


class UnitOut(BaseModel):
    """The contract's unit object."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    unit_number: str
    size: str
    dimensions: str
    monthly_price: int
    status: UnitStatus
    description: str | None


class UnitCreate(BaseModel):
    """POST /api/units (admin). Unknown fields are ignored; prices are whole shillings."""

    unit_number: UnitNumber
    size: Size
    dimensions: Dimensions
    monthly_price: MonthlyPrice
    description: Description | None = None

    @field_validator("description")
    @classmethod
    def _blank_description_is_none(cls, value: str | None) -> str | None:
        return value or None


class UnitUpdate(BaseModel):
    """PUT /api/units/<id> (admin): any subset of these fields; others are ignored."""

    status: UnitStatus | None = Field(
        default=None,
        description="`maintenance` takes the unit out of service; `available` puts it back (409 while an active "
        "booking holds a unit that is not in maintenance); `booked` follows bookings and is accepted only when "
        "the unit already is booked (409 otherwise).",
    )
    monthly_price: MonthlyPrice | None = None
    size: Size | None = None
    dimensions: Dimensions | None = None
    description: Description | None = None

    @field_validator("status", "monthly_price", "size", "dimensions", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Absent means "unchanged"; an explicit null is a mistake, not a way to clear a required field.
        if value is None:
            raise ValueError("Must not be null")
        return value

    @field_validator("description")
    @classmethod
    def _blank_description_is_none(cls, value: str | None) -> str | None:
        return value or None

    def changes(self) -> dict[str, Any]:
        """The fields the client actually sent (description may be sent as null to clear it)."""
        return {name: getattr(self, name) for name in self.model_fields_set if name in type(self).model_fields}


class UnitsByStatus(BaseModel):
    available: int
    booked: int
    maintenance: int


class Occupancy(BaseModel):
    """GET /api/units/reports/occupancy."""

    as_of: date = Field(description="today in Nairobi")
    units: int
    by_status: UnitsByStatus
    rentable_units: int = Field(description="units not in maintenance")
    occupied_units: int = Field(description="rentable units a confirmed booking covers today")
    physical_occupancy: float = Field(description="occupied_units / rentable_units, percent (1 decimal)")
    potential_rent: int = Field(description="KES a month: the monthly_price of every rentable unit")
    occupied_rent: int = Field(description="KES a month: a monthly rental's rate, else the unit's price, if occupied")
    economic_occupancy: float = Field(description="occupied_rent / potential_rent, percent (1 decimal)")


class DateRange(BaseModel):
    start_date: date
    end_date: date | None = Field(description="exclusive; null: an open-ended monthly rental")
