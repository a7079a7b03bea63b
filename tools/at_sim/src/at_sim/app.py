"""Africa's Talking's SMS wire format, locally: POST /version1/messaging and delivery reports.

Run it:  uvicorn at_sim.app:create_app --factory --host 127.0.0.1 --port 8020

The recipient's number picks the outcome, by its last four digits (like the Daraja simulator):

| ends in | answer (statusCode) | delivery report |
|---|---|---|
| 0403 | 403 InvalidPhoneNumber | none |
| 0406 | 406 UserInBlacklist | none |
| 0405 | 405 InsufficientBalance (try again later) | none |
| 0500 | 500 InternalServerError (try again later) | none |
| 9999 | 101 Success | Failed (AbsentSubscriber) |
| anything else | 101 Success | Success |

Every accepted message is appended to AT_SIM_STORE (JSON lines) and listed by GET /simulator/messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("at_sim")

REFUSED = {
    "0403": (403, "InvalidPhoneNumber"),
    "0406": (406, "UserInBlacklist"),
    "0405": (405, "InsufficientBalance"),
    "0500": (500, "InternalServerError"),
}
UNDELIVERABLE_SUFFIX = "9999"
COST = "KES 0.8000"


class SimSettings(BaseSettings):
    """Knobs of the simulator (env: AT_SIM_<FIELD>)."""

    model_config = SettingsConfigDict(env_prefix="AT_SIM_", env_file=None, extra="ignore", case_sensitive=False)

    # The delivery-report URL (set in Africa's Talking's dashboard in real life); empty: no reports.
    callback_url: str = ""
    delivery_delay_seconds: float = 1.0
    # The API key it accepts; empty: any non-empty key (like a fresh sandbox app).
    api_key: str = ""
    # Where accepted messages are kept (JSON lines); empty: in memory only.
    store: str = ""


class Store:
    """The messages accepted so far, kept in a JSON lines file that survives a restart of the simulator."""

    def __init__(self, path: str) -> None:
        self._path = Path(path) if path else None
        self._memory: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            if self._path is None:
                self._memory.append(record)
            else:
                with self._path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._path is None:
                return list(self._memory)
            if not self._path.exists():
                return []
            return [json.loads(line) for line in self._path.read_text(encoding="utf-8").splitlines() if line]


def create_app(settings: SimSettings | None = None) -> FastAPI:
    settings = settings or SimSettings()
    store = Store(settings.store)
    reports: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = httpx.AsyncClient(timeout=10)
        try:
            yield
        finally:
            for task in reports:
                task.cancel()
            await asyncio.gather(*reports, return_exceptions=True)
            await app.state.http.aclose()

    app = FastAPI(title="Africa's Talking SMS simulator", version="1.0.0", lifespan=lifespan, redirect_slashes=False)

    async def report(message_id: str, number: str, delivered: bool) -> None:
        await asyncio.sleep(settings.delivery_delay_seconds)
        form = {"id": message_id, "status": "Success" if delivered else "Failed", "phoneNumber": number,
                "networkCode": "63902", "retryCount": "0"}
        if not delivered:
            form["failureReason"] = "AbsentSubscriber"
        for attempt in range(5):
            try:
                response = await app.state.http.post(settings.callback_url, data=form)
                if response.status_code < 500:
                    return
            except httpx.HTTPError as exc:
                log.warning("delivery report to %s failed: %s", settings.callback_url, exc)
            await asyncio.sleep(0.5 * 2**attempt)

    @app.post("/version1/messaging")
    async def send_message(request: Request) -> Any:
        api_key = request.headers.get("apikey", "")
        if not api_key or (settings.api_key and api_key != settings.api_key):
            return PlainTextResponse("The supplied authentication is invalid", status_code=401)
        raw = (await request.body()).decode("utf-8", errors="replace")
        form = {key: values[0] for key, values in parse_qs(raw).items()}
        missing = [name for name in ("username", "to", "message") if not form.get(name, "").strip()]
        if missing:
            return PlainTextResponse(f"Request is missing required form field '{missing[0]}'", status_code=400)
        recipients = []
        for number in (n.strip() for n in form["to"].split(",") if n.strip()):
            digits = number.lstrip("+")
            code, status = REFUSED.get(digits[-4:], (101, "Success"))
            entry: dict[str, Any] = {"statusCode": code, "number": number, "status": status}
            if code == 101:
                message_id = f"ATXid_{uuid.uuid4().hex}"
                entry.update(cost=COST, messageId=message_id, messageParts=1)
                store.add({"messageId": message_id, "to": number, "from": form.get("from"),
                           "username": form["username"], "message": form["message"],
                           "at": datetime.now(UTC).isoformat()})
                if settings.callback_url:
                    task = asyncio.create_task(report(message_id, number, not digits.endswith(UNDELIVERABLE_SUFFIX)))
                    reports.add(task)
                    task.add_done_callback(reports.discard)
            else:
                entry.update(cost="0", messageId="None")
            recipients.append(entry)
        sent = sum(1 for r in recipients if r["statusCode"] == 101)
        body = {"SMSMessageData": {"Message": f"Sent to {sent}/{len(recipients)} Total Cost: KES {0.8 * sent:.4f}",
                                   "Recipients": recipients}}
        if "application/json" not in request.headers.get("accept", ""):
            log.info("a client asked for XML; answering JSON anyway")
        return JSONResponse(body, status_code=201)

    @app.get("/simulator/messages")
    def messages(to: str | None = None) -> list[dict[str, Any]]:
        """Every message accepted so far (optionally to one number: 2547... or +2547...), oldest first."""
        rows = store.all()
        if to:
            wanted = to.lstrip("+")
            rows = [row for row in rows if row["to"].lstrip("+") == wanted]
        return rows

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
