"""An admin's status change is in transport's audit log (jeshkit.audit); customers cannot read it."""

from __future__ import annotations

from typing import Any

AUDIT = "/api/transport-requests/admin/audit"


def test_a_status_change_is_logged_with_the_admin_and_the_move(t: Any) -> None:
    request_id = t.create()
    assert t.patch_status(request_id, "scheduled").status_code == 200
    assert t.patch_status(request_id, "completed").status_code == 409  # refused: not logged

    entries = t.client.get(AUDIT, headers=t.as_user(900, "admin")).json()["data"]
    assert [(e["action"], e["target"], e["actor_id"], e["details"]) for e in entries] == [
        ("transport_request.status_changed", f"transport_request:{request_id}", 900,
         {"from": "requested", "to": "scheduled"}),
    ]
    assert t.client.get(AUDIT, headers=t.as_user(1)).status_code == 403
