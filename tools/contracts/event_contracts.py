"""Event contracts: validate an integration event's envelope against contracts/events/<Type>.v<N>.schema.json.

    import sys; sys.path.insert(0, str(REPO / "tools" / "contracts"))
    from event_contracts import validate_event, validate_outbox
    validate_event(row_payload)            # raises EventContractError naming every broken rule
    validate_outbox(database_url)          # every outbox row of one service database; returns the count

The schemas are generated from the event models of `jeshkit.events` (the one source of each contract):
`python tools/contracts/event_contracts.py --write` rewrites them; `schema_drift()` lists every file that
differs from its model (a test keeps it empty). Without arguments the script checks drift and every example
(pass must pass, fail must fail).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

REPO = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO / "contracts" / "events"
EXAMPLES_DIR = EVENTS_DIR / "examples"


class EventContractError(ValueError):
    """An event does not match its published contract (or has none)."""


def schema_path(event_type: str, version: int, events_dir: Path = EVENTS_DIR) -> Path:
    return events_dir / f"{event_type}.v{version}.schema.json"


def contract_names(events_dir: Path = EVENTS_DIR) -> list[str]:
    """Every published contract, as '<Type>.v<N>'."""
    return sorted(p.name.removesuffix(".schema.json") for p in events_dir.glob("*.v*.schema.json"))


@cache
def _validator(path: Path) -> Draft202012Validator:
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def located_errors(envelope: Any, events_dir: Path = EVENTS_DIR) -> list[tuple[str, str]]:
    """Every way the envelope breaks its contract, as (where, what); where '' is the envelope itself."""
    if not isinstance(envelope, dict):
        return [("", f"an event is a JSON object, got {type(envelope).__name__}")]
    event_type, version = envelope.get("type"), envelope.get("version")
    if not isinstance(event_type, str) or isinstance(version, bool) or not isinstance(version, int):
        return [("", f"no contract can be chosen: type={event_type!r} version={version!r}")]
    path = schema_path(event_type, version, events_dir)
    if not path.is_file():
        return [("", f"no contract for {event_type} v{version} (no {path.name})")]
    errors = _validator(path).iter_errors(envelope)
    return sorted(("/".join(map(str, e.absolute_path)), e.message) for e in errors)


def event_errors(envelope: Any, events_dir: Path = EVENTS_DIR) -> list[str]:
    """Every way the envelope breaks its contract, as readable lines."""
    return [f"{where or '<envelope>'}: {what}" for where, what in located_errors(envelope, events_dir)]


def validate_event(envelope: Any, events_dir: Path = EVENTS_DIR) -> None:
    """Raise EventContractError unless the envelope matches the schema of its type and version."""
    errors = event_errors(envelope, events_dir)
    if errors:
        event_id = envelope.get("id") if isinstance(envelope, dict) else None
        label = f"{envelope.get('type')}.v{envelope.get('version')}" if isinstance(envelope, dict) else "?"
        raise EventContractError(f"event {event_id} ({label}) breaks its contract:\n  " + "\n  ".join(errors))


def validate_events(envelopes: Iterable[Any]) -> int:
    """Validate many events; raise one EventContractError listing every bad one. Returns how many were checked."""
    problems, count = [], 0
    for envelope in envelopes:
        count += 1
        try:
            validate_event(envelope)
        except EventContractError as exc:
            problems.append(str(exc))
    if problems:
        raise EventContractError("\n".join(problems))
    return count


def validate_outbox(database_url: str) -> int:
    """Validate every event in one service database's outbox (sent or not). Returns how many were checked."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            payloads = conn.execute(text("SELECT payload FROM outbox ORDER BY created_at, id")).scalars().all()
    finally:
        engine.dispose()
    return validate_events(payloads)


def example_problems(examples_dir: Path = EXAMPLES_DIR, events_dir: Path = EVENTS_DIR) -> list[str]:
    """Each contract needs a pass example that passes and a fail example that breaks exactly one rule."""
    problems = []
    for name in contract_names(events_dir):
        for kind in ("pass", "fail"):
            path = examples_dir / f"{name}.{kind}.json"
            if not path.is_file():
                problems.append(f"{name}: missing example {path.name}")
                continue
            example = json.loads(path.read_text())
            errors = event_errors(example, events_dir)
            broken_places = {where for where, _ in located_errors(example, events_dir)}
            if kind == "pass" and errors:
                problems.append(f"{path.name} should pass but: {errors}")
            elif kind == "fail" and example.get("type") != name.rsplit(".v", 1)[0]:
                problems.append(f"{path.name} must name its own type so that it fails on the rule it pins")
            elif kind == "fail" and len(broken_places) != 1:
                problems.append(f"{path.name} should break the contract in exactly one place: {errors}")
    return problems


def generated_schemas() -> dict[str, dict[str, Any]]:
    """'<Type>.v<N>' -> the schema generated from its jeshkit.events model."""
    from jeshkit.events import EVENT_TYPES, contract_schema

    return {
        f"{t}.v{v}": contract_schema(model)
        for (t, v), model in sorted(EVENT_TYPES.items())
        if model.__module__.startswith("jeshkit.events.")  # not a test's own event type
    }


def schema_drift(events_dir: Path = EVENTS_DIR) -> list[str]:
    """Every contract file that differs from its model, and every model or file without the other."""
    generated = generated_schemas()
    problems = [f"{name}: a schema file without a model in jeshkit.events"
                for name in contract_names(events_dir) if name not in generated]
    for name, schema in generated.items():
        path = events_dir / f"{name}.schema.json"
        if not path.is_file():
            problems.append(f"{name}: no {path.name} (run tools/contracts/event_contracts.py --write)")
        elif json.loads(path.read_text()) != schema:
            problems.append(f"{name}: {path.name} differs from its model (run event_contracts.py --write)")
    return problems


def write_schemas(events_dir: Path = EVENTS_DIR) -> int:
    for name, schema in generated_schemas().items():
        (events_dir / f"{name}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
    return len(generated_schemas())


def main() -> int:
    if sys.argv[1:] == ["--write"]:
        print(f"wrote {write_schemas()} event contracts")
    problems = schema_drift() + example_problems()
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(contract_names())} event contracts, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
