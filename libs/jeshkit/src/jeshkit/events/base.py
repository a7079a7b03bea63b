"""The typed event layer's machinery: field types, the EventData base, the registry and the JSON Schema writer.

Each event type's data is one `EventData` subclass, named exactly like the event type. The class is the
single source of its contract: `contracts/events/<Type>.v<N>.schema.json` is generated from it
(`python tools/contracts/event_contracts.py --write`), and a test fails when the committed file drifts.
"""

from __future__ import annotations

import json
import types
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, ValidationError

MAX_ID = 2**63 - 1
_DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIME_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|\\+00:00)$"


class JsonSchema:
    """Annotated metadata: the JSON Schema fragment a field type stands for in the contract."""

    def __init__(self, **fragment: Any) -> None:
        self.fragment = fragment


class SecretMark:
    """Annotated metadata: the field is a secret (e.g. a password reset token). Listings of raw payloads (parked
    messages) show HIDDEN instead; the stored payload is whole, so a replay still carries it."""


HIDDEN = "[hidden]"


def _utc_iso(value: datetime) -> str:
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


# The field types an event's data is made of (each with its contract fragment).
Id = Annotated[int, Field(ge=1, le=MAX_ID), JsonSchema(type="integer", minimum=1)]
Kes = Annotated[int, Field(ge=0), JsonSchema(type="integer", minimum=0, description="integer Kenya shillings")]
Int = Annotated[int, JsonSchema(type="integer")]
Count = Annotated[int, Field(ge=0), JsonSchema(type="integer", minimum=0)]
Flag = Annotated[bool, JsonSchema(type="boolean")]
Text = Annotated[str, Field(min_length=1), JsonSchema(type="string", minLength=1)]
Email = Annotated[str, Field(min_length=1), JsonSchema(type="string", minLength=1, format="email")]
Secret = Annotated[
    str, Field(min_length=1), SecretMark(),
    JsonSchema(type="string", minLength=1, description="a secret: never shown in a listing of parked messages"),
]
Day = Annotated[date, JsonSchema(type="string", format="date", pattern=_DATE_PATTERN, description="YYYY-MM-DD")]
Moment = Annotated[
    AwareDatetime,
    AfterValidator(lambda moment: moment.astimezone(UTC)),
    PlainSerializer(_utc_iso, return_type=str),
    JsonSchema(type="string", format="date-time", pattern=_TIME_PATTERN, description="ISO 8601 timestamp in UTC"),
]


class EventDataError(ValueError):
    """An event's data does not match its type's model (and so its contract)."""


EVENT_TYPES: dict[tuple[str, int], type[EventData]] = {}


class EventPart(BaseModel):
    """An object inside an event's data (an item of a list field: `list[SomePart]`), made of the same field types;
    its contract is an object schema within its event's."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class EventData(BaseModel):
    """The data of one event type and version. Subclasses set `source` (and `version` past 1)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    source: ClassVar[str]
    abstract: ClassVar[bool] = False  # True on a base that only shares fields (not an event type)
    # True when the data holds a person's name, contact details or a secret sent to them: such events leave the
    # outbox and the parked messages of every service when the person is erased (jeshkit.erasure).
    personal: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.event_type = cls.__dict__.get("event_type", cls.__name__)
        if cls.__dict__.get("abstract", False):
            return
        key = (cls.event_type, cls.version)
        if key in EVENT_TYPES and EVENT_TYPES[key].__qualname__ != cls.__qualname__:
            raise TypeError(f"two models for {cls.event_type} v{cls.version}")
        EVENT_TYPES[key] = cls

    @classmethod
    def parse(cls, data: Any) -> EventData:
        """Validate received data as JSON (strictly: "5" is not an integer, 1 is not a boolean)."""
        try:
            return cls.model_validate_json(json.dumps(data), strict=True)
        except (ValidationError, TypeError, ValueError) as exc:
            raise EventDataError(f"{cls.event_type} v{cls.version} data does not match its contract: {exc}") from None

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        """The names of the fields typed `Secret`."""
        return frozenset(name for name, field in cls.model_fields.items()
                         if any(isinstance(meta, SecretMark) for meta in field.metadata))

    def to_data(self) -> dict[str, Any]:
        # An optional field the publisher did not give stays absent (its readers get the default).
        return self.model_dump(mode="json", exclude_unset=True)


def model_for(event_type: str, version: int) -> type[EventData] | None:
    return EVENT_TYPES.get((event_type, version))


def without_secrets(payload: str) -> str:
    """An envelope's JSON text with its data's `Secret` fields replaced by HIDDEN (as it is when it is not an
    envelope of a known event type, or has no secrets)."""
    try:
        envelope = json.loads(payload)
        model = model_for(str(envelope["type"]), int(envelope["version"]))
        data = envelope["data"]
    except (ValueError, TypeError, KeyError):
        return payload
    secrets = model.secret_fields() if model is not None and isinstance(data, dict) else frozenset()
    if not secrets & data.keys():
        return payload
    envelope["data"] = {key: HIDDEN if key in secrets else value for key, value in data.items()}
    return json.dumps(envelope)


# --- the contract, generated from a model ------------------------------------------------------------
def _fragment(annotation: Any) -> dict[str, Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, JsonSchema):
                return dict(meta.fragment)
        return _fragment(get_args(annotation)[0])
    if origin is Literal:
        return {"type": "string", "enum": list(get_args(annotation))}
    if origin is list:
        return {"type": "array", "items": _fragment(get_args(annotation)[0])}
    if isinstance(annotation, type) and issubclass(annotation, EventPart):
        return data_schema(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if len(options) != 1 or len(options) == len(get_args(annotation)):
            raise TypeError(f"unsupported union {annotation!r}: only `X | None`")
        fragment = _fragment(options[0])
        fragment["type"] = [fragment["type"], "null"]
        if "enum" in fragment:
            fragment["enum"] = [*fragment["enum"], None]
        return fragment
    raise TypeError(f"no contract fragment for {annotation!r}: use the field types of jeshkit.events")


def data_schema(model: type[EventData] | type[EventPart]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        if field.metadata:
            annotation = Annotated[(annotation, *field.metadata)]
        fragment = _fragment(annotation)
        if field.description:
            fragment["description"] = field.description
        properties[name] = fragment
    return {
        "type": "object",
        "required": [name for name, field in model.model_fields.items() if field.is_required()],
        "additionalProperties": True,
        "properties": properties,
    }


def contract_schema(model: type[EventData]) -> dict[str, Any]:
    """The JSON Schema of the whole envelope carrying this model's data."""
    name = f"{model.event_type}.v{model.version}"
    doc = " ".join((model.__doc__ or "").split())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://jesh.storage/contracts/events/{name}.schema.json",
        "title": f"{model.event_type} v{model.version}",
        "description": f"{doc} Published by {model.source} on jesh.events.{model.event_type}.",
        "type": "object",
        "required": ["id", "type", "version", "occurred_at", "source", "data"],
        "additionalProperties": False,
        "properties": {
            "id": {
                "type": "string",
                "format": "uuid",
                "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                "description": "unique event id, also the Nats-Msg-Id",
            },
            "type": {"const": model.event_type},
            "version": {"const": model.version},
            "occurred_at": {
                "type": "string",
                "format": "date-time",
                "pattern": _TIME_PATTERN,
                "description": "ISO 8601 timestamp in UTC",
            },
            "source": {"const": model.source},
            "data": data_schema(model),
        },
    }
