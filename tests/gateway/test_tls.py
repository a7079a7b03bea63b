"""HTTPS on the gateway's websecure entry point (gateway/traefik.yml, gateway/dynamic/tls.yml): with JESH_TLS_DOMAIN,
every route answers over TLS too, with HSTS, and Let's Encrypt is asked for that domain's certificate (here the
resolver points at nobody, jeshstack.gateway.OFFLINE_ACME_SERVER, so Traefik serves its own certificate meanwhile, as
it does until the first one is issued); without it, websecure routes nothing."""

from __future__ import annotations

import httpx

from jeshstack.procs import wait_for


def test_with_a_domain_every_route_answers_over_https_too(start_gateway, envelope) -> None:
    gateway = start_gateway(["inventory"], secure=True, JESH_TLS_DOMAIN="storage.example.test")
    assert gateway.secure_url
    # Traefik's own certificate: the resolver asks nobody here.
    with httpx.Client(base_url=gateway.secure_url, verify=False, timeout=15) as client:  # noqa: S501
        units = client.get("/api/units")
        assert units.status_code == 200 and units.json()["success"] is True, units.text
        assert units.headers["strict-transport-security"].startswith("max-age=31536000")
        envelope(client.get("/api/no-such-thing"), 404)  # the catch-all's 404 envelope too
    plain = httpx.get(f"{gateway.url}/api/units", timeout=15)
    assert plain.status_code == 200 and "strict-transport-security" not in plain.headers  # web is unchanged
    log = gateway.access_log.parent / "traefik.log"
    wait_for(lambda: log.exists() and all(part in log.read_text() for part in (
        '"providerName":"letsencrypt.acme"', '"routerName":"tls-certificate@file"', "Host(`storage.example.test`)")),
        timeout=20, what="the certificate resolver asked for the domain")


def test_without_a_domain_https_routes_nothing(start_gateway) -> None:
    gateway = start_gateway(["inventory"], secure=True)
    answer = httpx.get(f"{gateway.secure_url}/api/units", verify=False, timeout=15)  # noqa: S501
    assert answer.status_code == 404 and not answer.headers.get("content-type", "").startswith("application/json")
    assert httpx.get(f"{gateway.url}/api/units", timeout=15).status_code == 200
