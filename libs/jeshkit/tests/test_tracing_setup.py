"""jeshkit.tracing's switch: off unless an OTLP endpoint is configured, and then spans carry the service's name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jeshkit import tracing
from jeshkit.settings import ServiceSettings


@pytest.fixture
def restore() -> Iterator[None]:
    yield
    provider = tracing._provider
    tracing.use_provider(None)
    if provider is not None:
        provider.shutdown()


def test_off_by_default_and_when_disabled(restore: None) -> None:
    assert tracing.configure_tracing(ServiceSettings(service_name="booking")) is False
    assert tracing.configure_tracing(ServiceSettings(otel_exporter_otlp_endpoint="http://127.0.0.1:9",
                                                     otel_sdk_disabled=True)) is False
    assert not tracing.is_enabled()
    with tracing.tracer().start_as_current_span("anything"):
        assert tracing.traceparent() is None
    assert tracing.consuming({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}, event_type="X",
                             event_id="e", subject="s", consumer="c").__class__.__name__ == "nullcontext"


def test_an_endpoint_turns_it_on_with_the_services_name(restore: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    assert tracing.configure_tracing(ServiceSettings(service_name="booking",
                                                     otel_exporter_otlp_endpoint="http://127.0.0.1:9")) is True
    assert tracing.is_enabled()
    assert tracing._provider is not None
    assert tracing._provider.resource.attributes["service.name"] == "booking"
    with tracing.tracer().start_as_current_span("request") as span:
        parent = tracing.traceparent()
        assert parent is not None and parent.split("-")[1] == f"{span.get_span_context().trace_id:032x}"
        with tracing.consuming({"traceparent": parent}, event_type="BookingCreated", event_id="e",
                               subject="jesh.events.BookingCreated", consumer="inventory") as consumed:
            assert consumed.get_span_context().trace_id == span.get_span_context().trace_id
