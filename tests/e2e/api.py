"""A client of the gateway, as the React frontend uses it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from jeshstack.testing import wait_for


class Api:
    """A customer's or an admin's view of the system, through the gateway only."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.token = token
        self.user: dict[str, Any] = {}

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, headers=self._headers(), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.client.post(path, json=json, headers=self._headers(), **kw)

    def put(self, path: str, json: Any = None) -> httpx.Response:
        return self.client.put(path, json=json, headers=self._headers())

    def patch(self, path: str, json: Any = None) -> httpx.Response:
        return self.client.patch(path, json=json, headers=self._headers())

    def close(self) -> None:
        self.client.close()

    # --- journeys' building blocks ---------------------------------------------------------------
    def book(self, unit_id: int, start: date, days: int) -> httpx.Response:
        return self.post("/api/bookings", {"unit_id": unit_id, "start_date": start.isoformat(),
                                           "end_date": (start + timedelta(days=days)).isoformat()})

    def pay(self, booking_id: int, phone: str) -> httpx.Response:
        return self.post("/api/payments/mpesa/initiate", {"booking_id": booking_id, "phone_number": phone})

    def booking(self, booking_id: int) -> dict[str, Any]:
        rows = self.get(f"/api/bookings/{self.user['id']}").json()["data"]
        return next(b for b in rows if b["id"] == booking_id)

    def wait_booking(self, booking_id: int, timeout: float = 20, **expected: Any) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            b = self.booking(booking_id)
            return b if all(b.get(k) == v for k, v in expected.items()) else None

        return wait_for(check, timeout=timeout, what=f"booking {booking_id} with {expected}")

    def unit(self, unit_id: int) -> dict[str, Any]:
        return dict(self.get(f"/api/units/{unit_id}").json()["data"])


def far_future(offset_days: int = 0) -> date:
    """A start date far enough ahead that tests never collide on dates by accident."""
    return date.today() + timedelta(days=30 + offset_days)
