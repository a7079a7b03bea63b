"""The audit log of admin actions (jeshkit.audit): written with the change, read by admins only, newest first."""

from __future__ import annotations

from sqlalchemy import text

AUDIT = "/api/units/admin/audit"


def test_an_admins_unit_changes_are_logged_with_the_actor_and_read_newest_first(client, admin, signing_keys):
    unit = client.post("/api/units", json={"unit_number": "AU-1", "size": "small", "dimensions": "1x1",
                                           "monthly_price": 1000}, headers=admin).json()["data"]
    assert client.put(f"/api/units/{unit['id']}", json={"status": "maintenance"}, headers=admin).status_code == 200
    other_admin = signing_keys.headers(77, "admin")
    assert client.put(f"/api/units/{unit['id']}", json={"monthly_price": 1200},
                      headers=other_admin).status_code == 200

    page = client.get(AUDIT, headers=admin)
    assert page.status_code == 200, page.text
    entries = page.json()["data"]
    assert [(e["action"], e["target"], e["actor_id"], e["actor_role"]) for e in entries] == [
        ("unit.updated", f"unit:{unit['id']}", 77, "admin"),
        ("unit.updated", f"unit:{unit['id']}", 1, "admin"),
        ("unit.created", f"unit:{unit['id']}", 1, "admin"),
    ]
    assert entries[0]["details"] == {"changes": {"monthly_price": 1200}}
    assert entries[2]["details"]["unit_number"] == "AU-1"
    assert entries[0]["request_id"]

    first = client.get(AUDIT, params={"limit": 2}, headers=admin).json()["data"]
    rest = client.get(AUDIT, params={"limit": 2, "before": first[-1]["id"]}, headers=admin).json()["data"]
    assert [e["id"] for e in first + rest] == [e["id"] for e in entries]


def test_a_refused_change_leaves_no_audit_row(client, admin, service_db):
    assert client.put("/api/units/424242", json={"status": "maintenance"}, headers=admin).status_code == 404
    with service_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0


def test_only_admins_read_the_audit_log(client, signing_keys):
    customer = client.get(AUDIT, headers=signing_keys.headers(5))
    assert customer.status_code == 403
    assert customer.json()["success"] is False
    assert client.get(AUDIT).status_code == 401
    assert client.get(AUDIT, params={"limit": 0}, headers=signing_keys.headers(1, "admin")).status_code == 400
