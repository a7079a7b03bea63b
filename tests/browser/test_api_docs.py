"""The one API reference at /api/docs, through the gateway: Swagger UI served from our origin (no CDN) over the
merged OpenAPI of every service (contracts/api-reference.json, built into the portal by web/scripts/api-docs.mjs)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from jeshstack import web

SERVICES = ("auth", "inventory", "booking", "payments", "transport", "billing", "notifications")


def test_api_docs_answers_the_page_and_the_merged_document(portal: str) -> None:
    with httpx.Client(base_url=portal, timeout=10) as client:
        for path in ("/api/docs", "/api/docs/"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert page.headers["content-type"].startswith("text/html")
            assert '<div id="swagger-ui"></div>' in page.text and "/api/docs/swagger-ui-bundle.js" in page.text
            assert "default-src 'self'" in page.headers["content-security-policy"]
        assert "https://" not in page.text  # nothing from a CDN
        bundle = client.get("/api/docs/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
        merged = client.get("/api/docs/openapi.json")
        assert merged.status_code == 200
        paths = merged.json()["paths"]
    for service in SERVICES:
        own = json.loads((web.REPO / "contracts" / "openapi" / f"{service}.json").read_text())["paths"]
        assert own and set(own) <= set(paths), service
    assert "/api/bookings" in paths and "/api/units/admin/audit" in paths


def test_the_reference_renders_every_service_offline(new_page: Any, portal: str) -> None:
    page = new_page({"width": 1280, "height": 900})
    outside: list[str] = []
    page.route(lambda url: not url.startswith(portal), lambda route: (outside.append(route.request.url),
                                                                       route.abort()))
    page.goto("/api/docs")
    # Under the page's Content-Security-Policy; parsing 1 MB of script and the document takes a while under load.
    page.wait_for_selector(".opblock-tag-section", timeout=60_000)
    tags = page.locator(".opblock-tag").all_inner_texts()
    assert {tag.split()[0] for tag in tags} >= set(SERVICES)
    assert page.get_by_text("/api/bookings/{booking_id}/cancel", exact=True).count() == 1
    assert outside == []  # nothing asked of another origin (no CDN, no online validator)
