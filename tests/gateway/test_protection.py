"""Refusals by the gateway itself: bodies over 1 MiB (413) and rate limits per client IP (429)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

MIB = 1024 * 1024


def test_a_body_over_1_mib_is_refused_with_413_before_reaching_the_service(start_gateway: Any, envelope: Any) -> None:
    # auth renders the gateway's refusals (first of the chain): inventory's counter counts inventory's requests.
    gateway = start_gateway(["inventory", "auth"])
    client = gateway.client()

    r = client.post("/api/units", content=b"x" * (MIB + 1), headers={"Content-Type": "application/json"})
    assert envelope(r, 413)["message"] == "Request body too large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body grows past the limit
        for _ in range(17):
            yield b"x" * (64 * 1024)

    envelope(client.post("/api/units", content=chunks(), headers={"Content-Type": "application/json"}), 413)
    assert gateway.requests_to("inventory-replicas") == 0

    # Exactly 1 MiB passes, to the service (which refuses it for reasons of its own).
    request_id = f"mib-{uuid.uuid4().hex[:8]}"
    exactly = client.post("/api/units", content=b"x" * MIB,
                          headers={"Content-Type": "application/json", "X-Request-Id": request_id})
    assert exactly.status_code != 413, exactly.text
    assert gateway.requests_to("inventory-replicas") == 1


def login(client: Any, email: str | None = None, password: str = "not the right one", **headers: str) -> Any:  # noqa: S107
    # A new email every time unless told: auth makes an (email, client IP) pair wait after failed attempts.
    email = email or f"nobody-{uuid.uuid4().hex[:10]}@example.co.ke"
    return client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


def auth_limits(average: int, burst: int, **more: Any) -> dict[str, dict[str, Any]]:
    """The credentials rate limit is auth's own (so that its 429s reach the client as they are)."""
    return {"auth": {"jesh_rate_limit_auth_average": average, "jesh_rate_limit_auth_burst": burst, **more}}


def test_login_is_rate_limited_per_client_ip(start_gateway: Any, envelope: Any) -> None:
    gateway = start_gateway(["auth"], settings=auth_limits(1, 3))
    first_ip = gateway.client()                           # 127.0.0.1
    second_ip = gateway.client(source_ip="127.0.0.2")    # another client, another address

    for _ in range(3):
        assert login(first_ip).status_code == 401  # Invalid credentials, from auth
    assert envelope(login(first_ip), 429)["message"] == "Too many requests, please slow down"

    # Register shares the strict limit; the other routes of auth do not.
    envelope(first_ip.post("/api/auth/register", json={}), 429)
    assert first_ip.get("/api/auth/profile").status_code == 401

    # Another client IP is not affected.
    assert login(second_ip).status_code == 401


def test_behind_a_trusted_proxy_the_client_ip_is_the_one_it_forwards(start_gateway: Any, envelope: Any) -> None:
    gateway = start_gateway(["auth"], settings=auth_limits(1, 2))
    proxy = gateway.client()  # 127.0.0.1, in entryPoints.web.forwardedHeaders.trustedIPs

    for _ in range(2):
        assert login(proxy, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 401
    envelope(login(proxy, **{"X-Forwarded-For": "203.0.113.7"}), 429)
    # The proxy's other clients, and the proxy's own requests, have buckets of their own.
    assert login(proxy, **{"X-Forwarded-For": "203.0.113.8"}).status_code == 401
    assert login(proxy, **{"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}).status_code == 401
    assert login(proxy).status_code == 401

    # An untrusted client cannot pick its bucket: its X-Forwarded-For is dropped.
    untrusted = gateway.client(source_ip="127.0.0.2")
    for n in range(2):
        assert login(untrusted, **{"X-Forwarded-For": f"192.0.2.{n}"}).status_code == 401
    envelope(login(untrusted, **{"X-Forwarded-For": "192.0.2.99"}), 429)


def test_auths_own_lockout_reaches_the_client_with_its_retry_after(start_gateway: Any, envelope: Any) -> None:
    gateway = start_gateway(["auth"], settings=auth_limits(
        600, 100, login_max_failures=3, login_backoff_seconds=600, jesh_admin_email="boss@example.co.ke",
        jesh_admin_password="Boss-pass-2026"))
    stranger = gateway.client(source_ip="127.0.0.3")
    admin = gateway.client(source_ip="127.0.0.4")

    assert [login(stranger, "boss@example.co.ke").status_code for _ in range(3)] == [401, 401, 401]
    locked = login(stranger, "boss@example.co.ke", "Boss-pass-2026")

    # auth's answer, not the gateway's generic one: its message and its Retry-After (600 s, not 1-3 s).
    assert envelope(locked, 429)["message"] == "Too many failed login attempts, please try again later"
    assert 590 <= int(locked.headers["retry-after"]) <= 600
    assert locked.headers["x-content-type-options"] == "nosniff"  # still through the gateway's middlewares
    # The stranger did not lock the admin out: from another address, the right password gets in.
    assert login(admin, "boss@example.co.ke", "Boss-pass-2026").status_code == 200


def test_the_daraja_callbacks_are_never_rate_limited(start_gateway: Any, envelope: Any) -> None:
    gateway = start_gateway(["payments"], JESH_RATE_LIMIT_API_AVERAGE="1", JESH_RATE_LIMIT_API_BURST="2")
    client = gateway.client()
    callback = {"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": "ws_CO_unknown",
                                         "ResultCode": 1032, "ResultDesc": "Request cancelled by user"}}}
    for path in ["/api/payments/hooks/stk/not-the-token"] * 6 + ["/api/payments/mpesa/callback"] * 6:
        r = client.post(path, json=callback)
        assert r.status_code == 200, r.text
        assert r.json()["ResultCode"] == 0
    for _ in range(6):  # nor Pesapal's IPN
        r = client.get("/api/payments/hooks/pesapal/not-the-token", params={"OrderTrackingId": "t"})
        assert r.status_code == 200 and r.json()["orderTrackingId"] == "t", r.text

    # The rest of payments has the generous limit (here: 2 at once, then 1 per second).
    responses = [client.get("/api/payments/status/1") for _ in range(2)]
    while responses[-1].status_code != 429 and len(responses) < 10:
        responses.append(client.get("/api/payments/status/1"))
    assert [r.status_code for r in responses[:2]] == [401, 401]
    envelope(responses[-1], 429)


def test_a_429_says_when_to_retry(start_gateway: Any, envelope: Any) -> None:
    gateway = start_gateway(["auth"], settings=auth_limits(4, 1),
                            JESH_RATE_LIMIT_API_AVERAGE="1", JESH_RATE_LIMIT_API_BURST="1")
    client = gateway.client()

    assert login(client).status_code == 401
    refused = login(client)
    envelope(refused, 429)
    assert refused.headers["retry-after"] in ("14", "15")  # 4 per minute: one more attempt every 15 s

    responses = [client.get("/api/auth/profile") for _ in range(3)]
    assert responses[0].status_code == 401
    refused = next(r for r in responses if r.status_code == 429)
    envelope(refused, 429)
    assert refused.headers["retry-after"] == "1"


def test_the_callback_allow_list_when_configured(start_gateway: Any, envelope: Any) -> None:
    gateway = start_gateway(["payments"], JESH_CALLBACK_ALLOWLIST="192.0.2.0/24, 198.51.100.7")
    proxy = gateway.client()  # 127.0.0.1: trusted to say whom it forwards
    callback = {"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": "ws_CO_unknown",
                                         "ResultCode": 0, "ResultDesc": "The service request is processed."}}}
    for path in ("/api/payments/hooks/stk/not-the-token", "/api/payments/mpesa/callback"):
        for allowed in ("192.0.2.44", "198.51.100.7"):
            r = proxy.post(path, json=callback, headers={"X-Forwarded-For": allowed})
            assert r.status_code == 200 and r.json()["ResultCode"] == 0, r.text
        # Anybody else: nothing there.
        envelope(proxy.post(path, json=callback, headers={"X-Forwarded-For": "203.0.113.5"}), 404)
        envelope(proxy.post(path, json=callback), 404)
    # The rest of payments is not concerned, nor Pesapal's IPN (Pesapal publishes no addresses).
    assert proxy.get("/api/payments/status/1").status_code == 401
    r = proxy.get("/api/payments/hooks/pesapal/not-the-token", params={"OrderTrackingId": "t"},
                  headers={"X-Forwarded-For": "203.0.113.5"})
    assert r.status_code == 200 and r.json()["status"] == 200, r.text


def test_a_hook_whose_path_holds_a_secret_leaves_no_access_log_line(start_gateway: Any) -> None:
    """Daraja's, Pesapal's and Africa's Talking's hooks carry their token in the path: the access log, read by
    whoever runs the gateway, must not hold it. Every other route keeps its line."""
    gateway = start_gateway(["payments", "notifications"])
    client = gateway.client()
    secret = f"s3cret{uuid.uuid4().hex}"
    hooks = [("POST", f"/api/payments/hooks/stk/{secret}"), ("GET", f"/api/payments/hooks/pesapal/{secret}"),
             ("POST", f"/api/notifications/hooks/sms/{secret}"), ("POST", "/api/payments/mpesa/callback")]
    for method, path in hooks:
        r = client.request(method, path, json={}, params={"OrderTrackingId": "t"}, headers={"X-Request-Id": "hook"})
        assert r.status_code in (200, 404), (path, r.status_code, r.text)  # an unknown token: 404 or acknowledged
    # A later request is logged; the hooks before it are not, and the secret is nowhere in the file.
    client.get("/api/payments/status/1", headers={"X-Request-Id": "after-the-hooks"})
    assert [e["RequestMethod"] for e in gateway.access_entries("after-the-hooks")] == ["GET"]
    log = gateway.access_log.read_text()
    assert secret not in log and "/hooks/" not in log and "/mpesa/callback" not in log


def test_the_access_log_keeps_the_path_without_its_query(start_gateway: Any) -> None:
    """An operator's search puts a phone number or an email in the query (`GET /api/auth/users?q=0712…`): the
    access log keeps the path, not the query."""
    gateway = start_gateway(["auth"])
    client = gateway.client()
    phone = f"07{uuid.uuid4().int % 10**8:08d}"
    client.get("/api/auth/users", params={"q": phone, "limit": 5}, headers={"X-Request-Id": "search"})
    [entry] = gateway.access_entries("search")
    assert entry["RequestPath"] == "/api/auth/users"
    assert phone not in gateway.access_log.read_text()


def test_auths_own_429s_on_password_routes_reach_the_client_as_they_are(start_gateway: Any, envelope: Any) -> None:
    """A password change (its current password counted like a login) and the password reset answer auth's own 429:
    its message and its real Retry-After, not the gateway's generic page with Retry-After 1."""
    gateway = start_gateway(["auth"], settings=auth_limits(
        1, 4, login_max_failures=2, login_backoff_seconds=600))
    client = gateway.client(source_ip="127.0.0.5")
    email = f"owner-{uuid.uuid4().hex[:8]}@example.co.ke"
    signed_up = client.post("/api/auth/register", json={
        "name": "Wanjiru", "email": email, "password": "Right-pass-2026", "phone": "0712345678"})
    assert signed_up.status_code == 201, signed_up.text
    token = {"Authorization": f"Bearer {signed_up.json()['token']}"}

    def change(current: str) -> Any:
        return client.post("/api/auth/password", headers=token,
                           json={"current_password": current, "new_password": "New-pass-2026!"})

    assert [change("wrong one").status_code for _ in range(2)] == [400, 400]
    locked = change("Right-pass-2026")
    assert envelope(locked, 429)["message"] == "Too many failed login attempts, please try again later"
    assert 590 <= int(locked.headers["retry-after"]) <= 600

    # The address's credentials bucket (4 at once, then 1 a minute) is spent by now: the reset says so, with the
    # wait auth computed (about a minute), not 1 s.
    reset = client.post("/api/auth/password-reset", json={"email": email})
    assert envelope(reset, 429)["message"] == "Too many requests, please slow down"
    assert int(reset.headers["retry-after"]) >= 30
    confirm = client.post("/api/auth/password-reset/confirm", json={"token": "x" * 43, "password": "Other-pass-2026"})
    assert envelope(confirm, 429)["message"] == "Too many requests, please slow down"
    assert int(confirm.headers["retry-after"]) >= 30
