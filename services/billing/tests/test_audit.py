"""An admin advancing a rental's test clock is in billing's audit log (jeshkit.audit); customers cannot read it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

AUDIT = "/api/billing/admin/audit"


def test_advancing_the_clock_is_logged_with_the_admin(start_billing):
    billing = start_billing()
    start = datetime.now(ZoneInfo("Africa/Nairobi")).date()
    billing.confirm_rental(31, start)
    billing.advance(31, start + timedelta(days=3))

    entries = billing.client.get(AUDIT, headers=billing.admin).json()["data"]
    assert [(e["action"], e["target"], e["actor_role"], e["details"]["to"]) for e in entries] == [
        ("rental.clock_advanced", "rental:31", "admin", (start + timedelta(days=3)).isoformat()),
    ]
    assert billing.client.get(AUDIT, headers=billing.owner(5)).status_code == 403
