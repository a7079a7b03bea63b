"""End-to-end fixtures: the whole stack once per session, customers, an admin, units."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.api import Api


@pytest.fixture(scope="session")
def gateway(jesh_stack: Any) -> str:
    return str(jesh_stack.gateway_url)


@pytest.fixture(scope="session")
def admin(gateway: str, jesh_stack: Any) -> Iterator[Api]:
    api = Api(gateway, jesh_stack.admin_token())
    api.user = api.get("/api/auth/profile").json()
    yield api
    api.close()


@pytest.fixture
def customer(gateway: str) -> Iterator[Api]:
    api = Api(gateway)
    email = f"customer-{uuid.uuid4().hex[:10]}@example.co.ke"
    r = api.post("/api/auth/register", {"email": email, "phone": "0712345678", "name": "Wanjiku Test",
                                        "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    api.token = r.json()["token"]
    api.user = r.json()["user"]
    yield api
    api.close()


@pytest.fixture
def new_unit(admin: Api) -> Any:
    """A fresh unit with a unique number (every test gets units of its own)."""

    def make(monthly_price: int = 3000, size: str = "small") -> dict[str, Any]:
        r = admin.post("/api/units", {"unit_number": f"E2E-{uuid.uuid4().hex[:8]}", "size": size,
                                      "dimensions": "2m x 2m x 2.4m", "monthly_price": monthly_price,
                                      "description": "end-to-end test unit"})
        assert r.status_code == 201, r.text
        return dict(r.json()["data"])

    return make
