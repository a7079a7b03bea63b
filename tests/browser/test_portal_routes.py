"""The gateway serves the portal at / (its pages fall back to index.html) and keeps /api as it was."""

from __future__ import annotations

import re

import httpx


def test_the_portal_and_its_pages_are_served_by_the_gateway(portal: str) -> None:
    with httpx.Client(base_url=portal, timeout=10) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert home.headers["content-type"].startswith("text/html")
        assert '<div id="root"></div>' in home.text
        assert home.headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in home.headers["content-security-policy"]
        assert home.headers["x-content-type-options"] == "nosniff"
        for page in ("/units/1", "/bookings", "/bookings/42", "/login", "/signup", "/forgot-password",
                     "/reset-password", "/invoices/7", "/transport", "/profile",
                     "/admin", "/admin/transport", "/admin/rentals", "/admin/reports", "/admin/events",
                     "/admin/audit"):
            r = client.get(page)
            assert r.status_code == 200 and r.text == home.text, page
        script = re.search(r'src="(/assets/[^"]+\.js)"', home.text)
        assert script
        asset = client.get(script.group(1))
        assert asset.status_code == 200
        assert "javascript" in asset.headers["content-type"]
        assert "immutable" in asset.headers["cache-control"]
        assert client.get("/assets/nothing-here.js").status_code == 404


def test_api_paths_and_unknown_paths_keep_the_json_envelope(portal: str) -> None:
    with httpx.Client(base_url=portal, timeout=10) as client:
        assert client.get("/api/units").json()["success"] is True
        for path in ("/api/nothing-here", "/api/unitsx", "/nothing-here", "/internal/units/1", "/healthz", "/docs",
                     "/bookingsx", "/invoicesx"):
            r = client.get(path)
            assert r.status_code == 404, path
            assert r.headers["content-type"].startswith("application/json"), path
            assert r.json()["success"] is False and r.json()["message"] == "Not found", path
