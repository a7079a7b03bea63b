"""Every event the services actually published in this end-to-end run matches its JSON Schema.

Named to run last among the end-to-end tests, after the journeys and faults filled the outboxes.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.api import far_future
from tools.contracts.event_contracts import validate_outbox

pytestmark = pytest.mark.e2e


def test_every_published_event_matches_its_schema(jesh_stack: Any, customer: Any, new_unit: Any) -> None:
    # At least one booking's worth of events even when this test runs alone.
    unit = new_unit()
    assert customer.book(unit["id"], far_future(300), days=3).status_code == 201
    checked = {service: validate_outbox(url) for service, url in jesh_stack.database_urls.items()}
    assert checked["auth"] >= 1 and checked["inventory"] >= 1 and checked["booking"] >= 1, checked
