"""The local stack's demo data: the development admin and a handful of units to browse."""

from __future__ import annotations

from collections.abc import Callable

import httpx

DEV_ADMIN_EMAIL = "admin@jesh.local"
DEV_ADMIN_PASSWORD = "JeshAdmin2026!"
DEV_PAYBILL_TOKEN = "jesh-dev-paybill-token"

DEMO_UNITS = [
    ("A-101", "small", "1.5m x 1.5m x 2.4m", 3500, "Locker-sized unit for boxes and suitcases"),
    ("A-102", "small", "1.5m x 1.5m x 2.4m", 3500, "Locker-sized unit near the entrance"),
    ("A-103", "small", "2m x 1.5m x 2.4m", 4500, "Fits the contents of a studio flat"),
    ("B-201", "medium", "3m x 2m x 2.4m", 7500, "Fits a one-bedroom house"),
    ("B-202", "medium", "3m x 2m x 2.4m", 7500, "Ground floor, trolley access"),
    ("B-203", "medium", "3m x 3m x 2.4m", 9000, "Fits a two-bedroom house"),
    ("C-301", "large", "4m x 3m x 2.4m", 12000, "Fits a three-bedroom house"),
    ("C-302", "large", "5m x 3m x 2.4m", 14500, "Drive-up access for a small truck"),
    ("C-303", "large", "6m x 3m x 2.4m", 16000, "Business stock and archives"),
    ("D-401", "extra_large", "6m x 6m x 3m", 25000, "Vehicle or full household"),
]


def admin_token(gateway_url: str, email: str, password: str) -> str:
    """Log the admin in through the gateway; its access token."""
    response = httpx.post(f"{gateway_url}/api/auth/login", json={"email": email, "password": password}, timeout=30)
    response.raise_for_status()
    return str(response.json()["token"])


def seed_demo_units(gateway_url: str, token: Callable[[], str], say: Callable[[str], None]) -> None:
    """Create DEMO_UNITS through the API when there are no units yet."""
    units = httpx.get(f"{gateway_url}/api/units", timeout=10).json()["data"]
    if units:
        return
    headers = {"Authorization": f"Bearer {token()}"}
    for unit_number, size, dimensions, price, description in DEMO_UNITS:
        response = httpx.post(
            f"{gateway_url}/api/units",
            json={"unit_number": unit_number, "size": size, "dimensions": dimensions,
                  "monthly_price": price, "description": description},
            headers=headers, timeout=10,
        )
        if response.status_code not in (201, 409):
            raise RuntimeError(f"seeding unit {unit_number} failed: {response.status_code} {response.text}")
    say(f"{len(DEMO_UNITS)} demo units created")


def register_paybill(gateway_url: str, token: Callable[[], str], say: Callable[[str], None]) -> None:
    """Register the Paybill's URLs with (the simulator of) M-PESA, as an admin does once in production."""
    response = httpx.post(f"{gateway_url}/api/payments/paybill/register",
                          headers={"Authorization": f"Bearer {token()}"}, timeout=30)
    if response.status_code == 409:  # the Paybill is off (MPESA_C2B_TOKEN set empty)
        return
    if response.status_code != 200:
        raise RuntimeError(f"registering the Paybill failed: {response.status_code} {response.text}")
    say(f"Paybill {response.json()['data']['business_number']} registered with the Daraja simulator")


def register_pull(gateway_url: str, token: Callable[[], str], say: Callable[[str], None]) -> None:
    """Register the Paybill for Pull Transactions: payments whose confirmation never came are then found by a job."""
    response = httpx.post(f"{gateway_url}/api/payments/paybill/pull", json={"nominated_number": "0722000000"},
                          headers={"Authorization": f"Bearer {token()}"}, timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"registering the Paybill for Pull Transactions failed: {response.status_code} "
                           f"{response.text}")
    say("Paybill registered for Pull Transactions: lost confirmations are found every "
        "PAYBILL_PULL_INTERVAL_SECONDS")
