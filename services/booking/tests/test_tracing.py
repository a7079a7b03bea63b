"""One trace from a booking request to the consumer that applied its event (jeshkit.tracing), across HTTP, the
outbox, NATS and another service; and nothing traced while tracing is off."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text

from jeshkit import tracing
from jeshstack.testing import wait_for


def find(exporter: InMemorySpanExporter, name: str, **attributes: Any) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name
            and all((s.attributes or {}).get(key) == value for key, value in attributes.items())]


def test_one_trace_from_the_booking_request_to_inventorys_consumer(spans, make_service, start_booking, kit,
                                                                   signing_keys, day):
    inventory = make_service("inventory", serve=True)
    booking = start_booking(inventory_url=f"http://127.0.0.1:{inventory.port}")
    unit_id = inventory.post("/api/units", json={"unit_number": "TR-1", "size": "small", "dimensions": "2x2",
                                                 "monthly_price": 3000},
                             headers=signing_keys.headers(1, "admin")).json()["data"]["id"]
    # booking's consumer of UnitCreated continues the admin's trace; once it has, booking forgets its copy so that the
    # booking below must ask inventory (a cross-service HTTP call to see in the trace, whatever the consumers' timing)
    unit_created = wait_for(lambda: find(spans, "UnitCreated process", **{"messaging.consumer.group.name":
                                                                          "booking"}) or None,
                            what="booking's span for UnitCreated")
    with kit.db.begin() as conn:
        conn.execute(text("DELETE FROM units WHERE unit_id = :id"), {"id": unit_id})

    created = booking.post("/api/bookings", json={"unit_id": unit_id, "start_date": day(1), "end_date": day(3)},
                           headers=signing_keys.headers(5))
    assert created.status_code == 201, created.text
    booking_id = created.json()["data"]["id"]

    [request] = find(spans, "POST /api/bookings")
    trace_id = request.context.trace_id
    with kit.db.connect() as conn:  # the outbox row kept the request's trace context
        kept = conn.execute(text("SELECT traceparent FROM outbox WHERE type = 'BookingCreated' "
                                 "AND (payload->'data'->>'booking_id')::bigint = :id"), {"id": booking_id}).scalar()
    assert kept is not None and kept.split("-")[1] == f"{trace_id:032x}"
    # inventory's consumer applied BookingCreated in the same trace, as a child of the request's context
    [consumed] = wait_for(lambda: find(spans, "BookingCreated process", **{"messaging.consumer.group.name":
                                                                           "inventory"}) or None,
                          what="inventory's span for BookingCreated")
    assert consumed.context.trace_id == trace_id
    assert consumed.parent is not None and consumed.parent.trace_id == trace_id
    # the gap-fill call to inventory (booking had not heard of the unit) is in the trace too, both sides
    asked = [s for s in find(spans, "GET /internal/units/{unit_id}") if s.context.trace_id == trace_id]
    assert len(asked) == 1 and asked[0].parent is not None
    # the admin's POST /api/units was another trace: booking's consumer of UnitCreated continued that one
    [unit_request] = find(spans, "POST /api/units")
    assert unit_request.context.trace_id != trace_id
    assert {s.context.trace_id for s in unit_created} == {unit_request.context.trace_id}


def test_nothing_is_traced_while_tracing_is_off(start_booking, kit, signing_keys, day):
    assert not tracing.is_enabled()
    booking = start_booking()
    assert "TracingMiddleware" not in {m.cls.__name__ for m in booking.app.user_middleware}
    kit.inventory.add(7)
    created = booking.post("/api/bookings", json={"unit_id": 7, "start_date": day(1), "end_date": day(2)},
                           headers=signing_keys.headers(5))
    assert created.status_code == 201, created.text
    with kit.db.connect() as conn:
        assert conn.execute(text("SELECT count(*), count(traceparent) FROM outbox")).one() == (1, 0)
