"""The simulator speaks Africa's Talking's wire format and posts delivery reports."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from at_sim.app import SimSettings, create_app
from jeshstack.procs import free_port
from jeshstack.pytest_plugin import LiveServer
from jeshstack.testing import wait_for

HEADERS = {"apiKey": "k", "Accept": "application/json"}


def test_send_answers_recipients_with_status_codes_and_keeps_the_messages(tmp_path):
    with TestClient(create_app(SimSettings(store=str(tmp_path / "sms.jsonl")))) as sim:
        r = sim.post("/version1/messaging", headers=HEADERS,
                     data={"username": "sandbox", "to": "+254712345678,+254700000403", "message": "Habari",
                           "from": "JESH"})
        assert r.status_code == 201
        recipients = r.json()["SMSMessageData"]["Recipients"]
        assert [(x["number"], x["statusCode"], x["status"]) for x in recipients] == [
            ("+254712345678", 101, "Success"), ("+254700000403", 403, "InvalidPhoneNumber")]
        assert recipients[0]["messageId"].startswith("ATXid_")
        assert r.json()["SMSMessageData"]["Message"].startswith("Sent to 1/2")
        kept = sim.get("/simulator/messages", params={"to": "254712345678"}).json()
        assert [(m["to"], m["message"], m["from"]) for m in kept] == [("+254712345678", "Habari", "JESH")]


def test_refuses_a_missing_key_or_field():
    with TestClient(create_app(SimSettings())) as sim:
        assert sim.post("/version1/messaging", data={"username": "u", "to": "+254712345678",
                                                     "message": "x"}).status_code == 401
        r = sim.post("/version1/messaging", headers=HEADERS, data={"username": "u", "to": "+254712345678"})
        assert r.status_code == 400 and "message" in r.text


def test_posts_a_delivery_report_form():
    reports: list[dict[str, str]] = []
    receiver = FastAPI()

    @receiver.post("/dlr")
    async def dlr(request: Request) -> dict[str, bool]:
        reports.append({k: v[0] for k, v in parse_qs((await request.body()).decode()).items()})
        return {"ok": True}

    server = LiveServer(receiver, free_port())
    try:
        settings = SimSettings(callback_url=f"http://127.0.0.1:{server.port}/dlr", delivery_delay_seconds=0.05)
        with TestClient(create_app(settings)) as sim:
            for number in ("+254712345678", "+254700009999"):
                sim.post("/version1/messaging", headers=HEADERS, data={"username": "u", "to": number, "message": "m"})
            wait_for(lambda: len(reports) == 2, what="two delivery reports")
    finally:
        server.stop()
    by_number = {r["phoneNumber"]: r for r in reports}
    assert by_number["+254712345678"]["status"] == "Success"
    assert by_number["+254700009999"]["status"] == "Failed"
    assert by_number["+254700009999"]["failureReason"] == "AbsentSubscriber"
    assert all(r["id"].startswith("ATXid_") for r in reports)
