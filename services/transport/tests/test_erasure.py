"""CustomerErased: the customer's transport requests keep their facts (ids, dates, status, distance, price) but not
the addresses or the description of their belongings; nobody else's requests change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from jeshstack.testing import wait_for

CUSTOMER, OTHER = 1, 2


def _rows(t: Any) -> dict[int, dict[str, Any]]:
    with t.db.connect() as conn:
        found = conn.execute(text("SELECT * FROM transport_requests ORDER BY id")).mappings().all()
    return {row["id"]: dict(row) for row in found}


def _erase(t: Any, user_id: int) -> None:
    envelope = t.bus.publish("CustomerErased", {"user_id": user_id, "erased_at": datetime.now(UTC).isoformat()},
                             source="auth")
    with t.db.connect() as conn:
        wait_for(lambda: conn.execute(text("SELECT 1 FROM inbox WHERE event_id = CAST(:e AS uuid)"),
                                      {"e": envelope["id"]}).first(), what="CustomerErased applied")


def test_an_erased_customer_s_requests_keep_their_facts_but_not_what_they_wrote(t: Any) -> None:
    t.booking_exists(10, user_id=CUSTOMER)
    open_request = t.create(user_id=CUSTOMER, booking_id=10)
    done = t.create(user_id=CUSTOMER, pickup_address="Flat 4, Ngong Road", items_description="Mama's piano")
    for step in ("scheduled", "in_progress", "completed"):
        assert t.patch_status(done, step).status_code == 200
    others = t.create(user_id=OTHER)
    events_before = len(wait_for(lambda: (e := t.status_events()) and len(e) >= 5 and e, what="5 status events"))
    before = _rows(t)

    _erase(t, CUSTOMER)

    after = _rows(t)
    for request_id in (open_request, done):
        erased = {"pickup_address": "(erased)", "delivery_address": "(erased)", "items_description": "(erased)"}
        kept = {k: v for k, v in before[request_id].items() if k not in {*erased, "updated_at"}}
        assert after[request_id] == {**kept, **erased, "updated_at": after[request_id]["updated_at"]}
    assert after[others] == before[others]
    assert t.statuses() == {open_request: "requested", done: "completed", others: "requested"}
    listed = t.client.get("/api/transport-requests", params={"user_id": CUSTOMER}, headers=t.as_user(900, "admin"))
    assert listed.status_code == 200
    assert {(r["id"], r["pickup_address"], r["items_description"], r["estimated_cost"])
            for r in listed.json()["data"]} == {(i, "(erased)", "(erased)", before[i]["estimated_cost"])
                                                for i in (open_request, done)}
    with t.db.connect() as conn:
        details = conn.execute(text("SELECT details::text FROM audit_log")).scalars().all()
    assert details and not any("Ngong" in d or "piano" in d for d in details)  # only statuses were audited

    _erase(t, CUSTOMER)  # again: nothing is written
    assert _rows(t) == after
    assert len(t.status_events()) == events_before  # no status changed, no event


def test_the_holds_are_the_customer_s_requests_not_yet_completed_or_cancelled(t: Any) -> None:
    requested = t.create(user_id=CUSTOMER)
    scheduled = t.create(user_id=CUSTOMER)
    assert t.patch_status(scheduled, "scheduled").status_code == 200
    done = t.create(user_id=CUSTOMER)
    for step in ("scheduled", "in_progress", "completed"):
        assert t.patch_status(done, step).status_code == 200
    t.create(user_id=OTHER)

    def holds(user_id: int) -> list[dict[str, Any]]:
        r = t.client.get(f"/internal/users/{user_id}/holds")
        assert r.status_code == 200, r.text
        return list(r.json()["data"]["holds"])

    assert holds(CUSTOMER) == [
        {"kind": "transport", "id": requested, "detail": f"transport request {requested} is requested"},
        {"kind": "transport", "id": scheduled, "detail": f"transport request {scheduled} is scheduled"},
    ]
    assert holds(999) == []
