"""Browser tests: Debian's Chromium driven by Playwright against the whole real stack, the portal built from web/.

The stack here is the browser tests' own (a longer booking hold than the end-to-end tests' 8 s, so that a person's
pace through the payment pages never races the hold). Screenshots go to test-output/browser/ (not committed;
JESH_BROWSER_OUTPUT moves it); every page is checked with axe-core (from web/node_modules).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jeshstack import web
from jeshstack.debian import debian_command
from jeshstack.demo import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from jeshstack.paths import REPO
from jeshstack.procs import free_port
from jeshstack.testing import wait_for

OUTPUT = Path(os.environ.get("JESH_BROWSER_OUTPUT", REPO / "test-output" / "browser"))
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
PHONE = {"width": 360, "height": 740}
PAYS = "0712345678"  # the Daraja simulator's default outcome: success
DESKTOP = {"width": 1280, "height": 860}


def chromium_executable() -> str:
    """Debian's chromium (Playwright cannot download its own browser here); installed when missing (as root)."""
    found = debian_command("chromium", *CHROMIUM_CANDIDATES)
    if not found:
        pytest.fail("Chromium is missing: apt-get install -y chromium (as root)")
    return found


@pytest.fixture(scope="session")
def built_web() -> Path:
    return web.ensure_built()


# Package scope, not session: the stack and Playwright stop once the browser tests are done. Playwright's sync API
# keeps its event loop marked as running in the main thread while it lives, which would break every later test that
# calls asyncio.run(), and a whole idle stack would compete for the two cores with the rest of the suite.
@pytest.fixture(scope="package")
def portal_stack(built_web: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from jeshstack.stack import Stack, StackConfig

    port = free_port()
    stack = Stack(StackConfig(
        state_dir=tmp_path_factory.mktemp("portal-stack"), gateway_port=port,
        env={"BOOKING_HOLD_SECONDS": "300", "DARAJA_SIM_CALLBACK_DELAY_SECONDS": "0.3",
             # Pesapal's page sends the browser back to the portal, as ./jesh up has it.
             "PESAPAL_CALLBACK_URL": f"http://127.0.0.1:{port}/bookings/card-return"},
    ))
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    yield stack
    stack.stop()


@pytest.fixture(scope="package")
def portal(portal_stack: Any) -> str:
    return str(portal_stack.gateway_url)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    # expect() waits 5 s by default: too short on a loaded CI machine (a page reload alone took longer there).
    expect.set_options(timeout=15_000)
    executable = chromium_executable()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=["--disable-dev-shm-usage", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


@pytest.fixture
def new_page(browser: Any, portal: str) -> Iterator[Any]:
    """new_page(viewport) -> a page in a fresh context (its own storage: a new visitor)."""
    contexts: list[Any] = []

    def make(viewport: dict[str, int] = PHONE) -> Any:
        context = browser.new_context(base_url=portal, viewport=viewport, locale="en-KE",
                                      timezone_id="Africa/Nairobi", device_scale_factor=1)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        for page in context.pages:
            assert not page.js_errors, f"uncaught errors in the page: {page.js_errors}"  # type: ignore[attr-defined]
        context.close()


AXE_SOURCE = web.WEB / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def check_page(output_dir: Path) -> Any:
    """check_page(page, name): axe-core finds no serious or critical violation; a full-page screenshot is saved."""

    def check(page: Any, name: str) -> None:
        page.wait_for_load_state("networkidle")
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            # evaluate, not a <script> tag: the portal's Content-Security-Policy refuses inline scripts.
            page.evaluate(AXE_SOURCE.read_text() + "\n;undefined")
        result = page.evaluate("""async () => {
            const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""")
        page.screenshot(path=str(output_dir / f"{name}.png"), full_page=True)
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not bad, f"{name}: accessibility violations: {bad}"

    return check


class Admin:
    """The operator, through the gateway's API (set-up steps the journeys do not look at)."""

    def __init__(self, portal: str, stack: Any) -> None:
        self.client = httpx.Client(base_url=portal, timeout=30,
                                   headers={"Authorization": f"Bearer {stack.admin_token()}"})

    def unit(self, price: int = 4200, size: str = "medium") -> dict[str, Any]:
        r = self.client.post("/api/units", json={
            "unit_number": f"W-{uuid.uuid4().hex[:6].upper()}", "size": size, "dimensions": "3m x 2m x 2.4m",
            "monthly_price": price, "description": "Browser test unit"})
        assert r.status_code == 201, r.text
        return dict(r.json()["data"])


@pytest.fixture(scope="package")
def admin_api(portal: str, portal_stack: Any) -> Iterator[Admin]:
    admin = Admin(portal, portal_stack)
    yield admin
    admin.client.close()


def assert_no_sideways_scroll(page: Any) -> None:
    """The page is no wider than the window: on a phone nothing makes it scroll sideways."""
    width, window = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= window, f"{page.url} is {width} px wide in a {window} px window: it scrolls sideways"


def support_phone(portal: str) -> str:
    """The number customers call (notifications' SUPPORT_PHONE), as the portal reads it."""
    r = httpx.get(f"{portal}/api/notifications/support", timeout=10)
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["phone"])


def tel_href(phone: str) -> str:
    """The tel: link the portal makes of a number: its digits, and its + when it has one."""
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + re.sub(r"\D", "", phone)


def register_customer(portal: str, phone: str = "0712345678", name: str = "Akinyi Otieno") -> dict[str, Any]:
    email = f"mteja-{uuid.uuid4().hex[:8]}@example.co.ke"
    r = httpx.post(f"{portal}/api/auth/register", json={"email": email, "phone": phone, "name": name,
                                                          "password": "salama-sana-2026"}, timeout=30)
    assert r.status_code == 201, r.text
    return {**r.json(), "email": email, "password": "salama-sana-2026"}


def logs_in(page: Any, email: str, password: str, lands: str = r"/bookings$") -> None:
    """Someone logs in on the page's login form and lands where `lands` (a pattern of the URL) says."""
    from playwright.sync_api import expect

    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(lands))


def admin_logs_in(page: Any) -> None:
    """The operator logs in on the page and lands on the console."""
    logs_in(page, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, r"/admin/units$")


def nairobi_now() -> datetime:
    """Now, moved to Nairobi's wall clock (UTC + 3 h; Kenya keeps no daylight saving): its date() is today there."""
    return datetime.now(UTC) + timedelta(hours=3)


def books(portal: str, customer: dict[str, Any], unit_id: int, start: datetime, days: int = 1) -> dict[str, Any]:
    """A fixed booking made by the customer through the API: its booking object."""
    r = httpx.post(f"{portal}/api/bookings", timeout=30, headers={"Authorization": f"Bearer {customer['token']}"},
                   json={"unit_id": unit_id, "start_date": start.date().isoformat(),
                         "end_date": (start + timedelta(days=days)).date().isoformat()})
    assert r.status_code == 201, r.text
    return dict(r.json()["data"])


def paid_monthly_rental(portal: str, admin: Admin, customer: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A monthly rental from today (a unit at 5200) whose first month the customer paid by M-PESA through the API,
    from PAYS: its booking's id and its first (paid) invoice, once billing has opened the rental."""
    unit = admin.unit(price=5200, size="small")
    with httpx.Client(base_url=portal, timeout=30,
                      headers={"Authorization": f"Bearer {customer['token']}"}) as api:
        r = api.post("/api/bookings", json={"unit_id": unit["id"], "start_date": nairobi_now().date().isoformat(),
                                            "plan": "monthly"})
        assert r.status_code == 201, r.text
        booking_id = int(r.json()["data"]["id"])
        r = api.post("/api/payments/mpesa/initiate", json={"booking_id": booking_id, "phone_number": PAYS})
        assert r.status_code == 200, r.text
    wait_for(lambda: admin.client.get(f"/api/billing/rentals/{booking_id}").status_code == 200, timeout=30,
             what=f"rental {booking_id} opened")
    (invoice,) = admin.client.get("/api/invoices", params={"booking_id": booking_id}).json()["data"]
    return booking_id, dict(invoice)


def overdue_rental(portal: str, admin: Admin, customer: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """A monthly rental (its first month paid by M-PESA through the API, from PAYS) whose test clock has run 45 days
    on: its second invoice is overdue with a late fee. The booking's id, that invoice and the paid first one, as
    billing answers them."""
    booking_id, _ = paid_monthly_rental(portal, admin, customer)
    today = nairobi_now().date()
    r = admin.client.post(f"/api/billing/rentals/{booking_id}/advance",
                          json={"to": (today + timedelta(days=45)).isoformat()})
    assert r.status_code == 200, r.text
    rows = admin.client.get("/api/invoices", params={"booking_id": booking_id}).json()["data"]
    overdue = [i for i in rows if i["status"] == "open" and i["days_overdue"] > 0]
    assert len(overdue) == 1, rows
    invoice = overdue[0]
    assert {line["kind"] for line in invoice["lines"]} == {"rent", "late_fee"}, invoice
    paid = [i for i in rows if i["status"] == "paid"]
    assert len(paid) == 1 and len(paid[0]["payments"]) == 1, rows
    return booking_id, dict(invoice), dict(paid[0])
