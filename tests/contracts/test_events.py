"""Event contracts: a schema per event type of docs/integration.md, with examples that pass and fail."""

import copy
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from event_contracts import (
    EVENTS_DIR,
    EXAMPLES_DIR,
    EventContractError,
    contract_names,
    example_problems,
    located_errors,
    schema_drift,
    validate_event,
    validate_events,
    validate_outbox,
)
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from jeshkit.events import EventDataError, UnitCreated, model_for
from jeshkit.migrations import MESSAGING_DDL
from jeshkit.outbox import Event, stage

REPO = Path(__file__).resolve().parents[2]
CONTRACTS = contract_names()


def catalogue() -> dict[str, str]:
    """type -> source, from the event table of docs/integration.md."""
    rows = re.findall(r"^\| `([A-Za-z]+)` \| ([a-z]+) \|", (REPO / "docs" / "integration.md").read_text(), re.M)
    assert rows, "the event table of docs/integration.md was not found"
    return dict(rows)


def example(name: str, kind: str) -> dict:
    return json.loads((EXAMPLES_DIR / f"{name}.{kind}.json").read_text())


def test_every_catalogued_event_has_a_v1_schema_with_its_source():
    events = catalogue()
    assert sorted(f"{t}.v1" for t in events) == sorted(n for n in CONTRACTS if n.endswith(".v1"))
    for event_type, source in events.items():
        schema = json.loads((EVENTS_DIR / f"{event_type}.v1.schema.json").read_text())
        assert schema["properties"]["source"] == {"const": source}
        assert schema["properties"]["data"]["additionalProperties"] is True


def test_every_schema_is_generated_from_its_event_model_without_drift():
    assert schema_drift() == []


@pytest.mark.parametrize("name", CONTRACTS)
def test_the_event_model_accepts_the_pass_example_and_refuses_a_fail_example_that_breaks_its_data(name):
    event_type, version = name.rsplit(".v", 1)
    model = model_for(event_type, int(version))
    assert model is not None, f"no model for {name}"
    model.parse(example(name, "pass")["data"])
    failing = example(name, "fail")
    if any(where.startswith("data") for where, _ in located_errors(failing)):
        with pytest.raises(EventDataError):
            model.parse(failing["data"])


def test_examples_are_complete_and_each_fail_example_breaks_one_place():
    assert example_problems() == []


@pytest.mark.parametrize("name", CONTRACTS)
def test_pass_example_passes_and_fail_example_fails(name):
    validate_event(example(name, "pass"))
    with pytest.raises(EventContractError, match=name):
        validate_event(example(name, "fail"))


def test_adding_a_data_field_is_not_breaking_but_the_envelope_is_closed():
    event = example("BookingCreated.v1", "pass")
    event["data"]["currency"] = "KES"
    validate_event(event)
    event["correlation_id"] = "x"
    with pytest.raises(EventContractError, match="correlation_id"):
        validate_event(event)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e.update(type="BookingExploded"), "no contract for BookingExploded v1"),
        (lambda e: e.update(version=2), "no contract for BookingCreated v2"),
        (lambda e: e.update(version=True), "no contract can be chosen"),
        (lambda e: e.update(id="not-a-uuid"), "id: "),
        (lambda e: e.update(source="inventory"), "source: "),
        (lambda e: e.update(occurred_at="2026-03-02 09:15:27"), "occurred_at: "),
        (lambda e: e["data"].update(total_price=True), "data/total_price: "),
        (lambda e: e["data"].update(user_id=None), "data/user_id: "),
    ],
)
def test_validate_event_names_what_is_wrong(change, reason):
    event = copy.deepcopy(example("BookingCreated.v1", "pass"))
    change(event)
    with pytest.raises(EventContractError, match=re.escape(reason)):
        validate_event(event)


def test_an_envelope_written_by_the_kit_matches_its_contract():
    data = {"unit_id": 3, "unit_number": "A-103", "size": "small", "monthly_price": 4500, "bookable": True}
    event = Event(str(uuid.uuid4()), "UnitCreated", 1, datetime.now(UTC).isoformat(), "inventory", data)
    validate_event(event.to_dict())


def test_validate_events_reports_every_bad_event_at_once():
    good, bad = example("UnitCreated.v1", "pass"), example("UnitCreated.v1", "fail")
    assert validate_events([good, good]) == 2
    with pytest.raises(EventContractError) as caught:
        validate_events([bad, good, "not an object"])
    assert "monthly_price" in str(caught.value) and "JSON object" in str(caught.value)


def test_validate_outbox_checks_every_row_a_service_staged(jesh_postgres):
    url = jesh_postgres.ensure_database("contracts_outbox_test")
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in MESSAGING_DDL:
            conn.execute(text(statement))
        conn.execute(text("TRUNCATE outbox"))
    unit = {"unit_id": 3, "unit_number": "A-103", "size": "small", "monthly_price": 4500, "bookable": True}
    with Session(engine, info={"service": "inventory", "subject_prefix": "jesh.events"}) as session:
        stage(session, UnitCreated(**unit))
        session.commit()
    assert validate_outbox(url) == 1
    with Session(engine, info={"service": "inventory", "subject_prefix": "jesh.events"}) as session:
        # The kit refuses to stage it; a row written around the kit is still caught.
        with pytest.raises(EventDataError, match="monthly_price"):
            stage(session, "UnitUpdated", {**unit, "monthly_price": "4500"})
        bad = Event(str(uuid.uuid4()), "UnitUpdated", 1, datetime.now(UTC).isoformat(), "inventory",
                    {**unit, "monthly_price": "4500"})
        session.execute(
            text("INSERT INTO outbox (id, type, version, subject, payload) "
                 "VALUES (:id, 'UnitUpdated', 1, 'jesh.events.UnitUpdated', CAST(:payload AS jsonb))"),
            {"id": bad.id, "payload": json.dumps(bad.to_dict())},
        )
        session.commit()
    with pytest.raises(EventContractError, match=r"UnitUpdated\.v1"):
        validate_outbox(url)
    engine.dispose()
