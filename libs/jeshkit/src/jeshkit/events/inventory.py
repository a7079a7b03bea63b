"""Events published by inventory."""

from __future__ import annotations

from pydantic import Field

from jeshkit.events.base import EventData, Flag, Id, Kes, Text


class UnitFacts(EventData):
    """A unit as the catalogue has it now."""

    abstract = True
    source = "inventory"
    unit_id: Id
    unit_number: Text
    size: Text
    monthly_price: Kes
    bookable: Flag = Field(description="false while the unit is in maintenance")


class UnitCreated(UnitFacts):
    """A unit was added to the catalogue."""


class UnitUpdated(UnitFacts):
    """A unit's number, size, price or bookability changed."""
