"""web/ builds (type check included, against the generated API client) and its unit tests pass (Vitest)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from jeshstack import web


def test_the_web_unit_tests_pass(built_web: Path) -> None:
    result = subprocess.run([web.npm(), "test", "--", "--reporter=dot"], cwd=web.WEB, capture_output=True, text=True,
                            timeout=300, env={**web.os.environ, "CI": "1", "NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "failed" not in result.stdout.lower().replace("0 failed", "")
    assert " passed" in result.stdout


def test_the_build_is_fresh_and_serves_hashed_assets(built_web: Path) -> None:
    index = (built_web / "index.html").read_text()
    assert '<div id="root"></div>' in index
    assets = list((built_web / "assets").glob("index-*.js"))
    assert assets and f"/assets/{assets[0].name}" in index
    # ensure_built() is a no-op when nothing changed: the fingerprint matches what was built.
    assert web.BUILD_STAMP.read_text() == web._build_fingerprint()


def test_a_contract_change_reaches_the_generated_client(built_web: Path) -> None:
    generated = web.WEB / "src" / "api" / "generated"
    contracts = sorted(p.stem for p in (web.REPO / "contracts" / "openapi").glob("*.json"))
    assert sorted(p.stem for p in generated.glob("*.ts") if p.stem != "index") == contracts
    assert '"/api/payments/status/{booking_id}"' in (generated / "payments.ts").read_text()


def test_the_main_chunk_stays_under_the_size_warning(built_web: Path) -> None:
    # vite.config.ts warns past 400 kB (chunkSizeWarningLimit); the console with its English sentences
    # (i18n/consoleMessages.ts, about 19 kB), the signed-in customer's pages past their list of bookings, the password
    # pages (App.tsx) and the Swahili sentences (i18n.tsx, about 26 kB) are lazily loaded chunks of their own.
    [main] = (built_web / "assets").glob("index-*.js")
    assert main.stat().st_size < 350_000, f"{main.name}: {main.stat().st_size} bytes"
    for lazy in ("Console", "BookingPage", "PasswordPages", "sw"):
        assert list((built_web / "assets").glob(f"{lazy}-*.js")), lazy
    [console] = (built_web / "assets").glob("Console-*.js")
    only_the_console_says = "Record cash payment"
    assert only_the_console_says not in main.read_text() and only_the_console_says in console.read_text()
