import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { createElement } from "react";
import {
  accessState, agingValues, formatMonth, invoiceBadge, invoiceStanding, oldestOverdue, openInvoices, owesBalance,
  payableBy, pivotRevenue, stageTone, type Invoice,
} from "./billing";
import { csvFileName } from "./download";
import { balancesByBooking } from "./owed";
import { StageBadge } from "../components/StageBadge";
import { I18nProvider } from "../i18n/i18n";

function invoice(over: Partial<Invoice>): Invoice {
  return {
    id: 1, number: "INV-000001", booking_id: 7, user_id: 3, period_start: "2026-12-02", period_end: "2027-01-01",
    issue_date: "2026-11-25", due_date: "2026-12-02", lines: [], total: 6000, amount_paid: 0, amount_refunded: 0, balance: 6000,
    status: "open", days_overdue: 0, payments: [], ...over,
  };
}

describe("the delinquency stage", () => {
  it("is good, a warning or bad", () => {
    expect(stageTone("current")).toBe("ok");
    expect(stageTone("late")).toBe("warn");
    expect(stageTone("locked_out")).toBe("bad");
    expect(stageTone("lien")).toBe("bad");
    expect(stageTone("something-new")).toBe("muted");
  });
  it("is shown in the customer's language", () => {
    const en = renderToStaticMarkup(createElement(I18nProvider, null, createElement(StageBadge, { stage: "locked_out" })));
    expect(en).toContain("badge-bad");
    expect(en).toContain("Locked out");
  });
});

describe("why access is suspended", () => {
  const invoices = [
    invoice({ id: 1, number: "INV-000001", status: "paid", balance: 0, due_date: "2026-12-02" }),
    invoice({ id: 3, number: "INV-000003", due_date: "2027-02-02", days_overdue: 0, balance: 6000 }),
    invoice({ id: 2, number: "INV-000002", due_date: "2027-01-02", days_overdue: 14, balance: 6500 }),
  ];
  it("names the open invoice furthest past due and how late it is", () => {
    expect(oldestOverdue(invoices)?.number).toBe("INV-000002");
    expect(accessState({ access: "suspended", delinquency_stage: "locked_out", balance: 12_500 }, invoices)).toEqual({
      access: "suspended", stage: "locked_out", invoice: "INV-000002", daysOverdue: 14, balance: 12_500,
    });
  });
  it("says nothing is wrong while access is active", () => {
    expect(accessState({ access: "active", delinquency_stage: "late", balance: 6500 }, invoices))
      .toEqual({ access: "active", stage: "late" });
  });
  it("still says suspended when the invoices have not loaded", () => {
    expect(accessState({ access: "suspended", delinquency_stage: "lien", balance: 100 }, []))
      .toMatchObject({ access: "suspended", invoice: null, daysOverdue: 0 });
  });
  it("lists the invoices to pay oldest first, and what each rental owes", () => {
    expect(openInvoices(invoices).map((i) => i.number)).toEqual(["INV-000002", "INV-000003"]);
    const owed = balancesByBooking([...invoices, invoice({ id: 9, booking_id: 8, balance: 100 })]);
    expect(owed.get(7)).toBe(12_500);
    expect(owed.get(8)).toBe(100);
    expect(owed.has(1)).toBe(false);
  });
});

describe("an invoice as a document", () => {
  it("says paid, void, open, or how many days overdue", () => {
    expect(invoiceStanding(invoice({ status: "paid", balance: 0, days_overdue: 0 }))).toEqual({ standing: "paid", tone: "ok" });
    // Every shilling paid went back (a cancelled period): refunded, not paid; partly refunded stays paid.
    const refunded = invoice({ status: "paid", balance: 0, amount_paid: 6000, amount_refunded: 6000 });
    expect(invoiceStanding(refunded)).toEqual({ standing: "refunded", tone: "muted" });
    expect(invoiceBadge(refunded)).toBe("refunded");
    const partly = invoice({ status: "paid", balance: 0, amount_paid: 6000, amount_refunded: 2500 });
    expect(invoiceStanding(partly)).toEqual({ standing: "paid", tone: "ok" });
    expect(invoiceBadge(partly)).toBe("paid");
    expect(invoiceBadge(invoice({ status: "open", amount_paid: 0, amount_refunded: 0 }))).toBe("open");
    expect(invoiceStanding(invoice({ status: "void", days_overdue: 3 }))).toEqual({ standing: "void", tone: "muted" });
    expect(invoiceStanding(invoice({ status: "open", days_overdue: 0 }))).toEqual({ standing: "open", tone: "warn" });
    expect(invoiceStanding(invoice({ status: "open", days_overdue: 12 })))
      .toEqual({ standing: "overdue", tone: "bad", daysOverdue: 12 });
  });
  it("offers to pay only the viewer's own open invoice with something left to pay", () => {
    expect(payableBy(invoice({ user_id: 3 }), 3)).toBe(true);
    expect(payableBy(invoice({ user_id: 3 }), 1)).toBe(false); // an operator reading a customer's invoice
    expect(payableBy(invoice({ user_id: 3 }), undefined)).toBe(false);
    expect(payableBy(invoice({ user_id: 3, status: "paid", balance: 0 }), 3)).toBe(false);
    expect(payableBy(invoice({ user_id: 3, status: "void" }), 3)).toBe(false);
    expect(payableBy(invoice({ user_id: 3, balance: 0 }), 3)).toBe(false);
  });

  it("owes a balance while open with something left to pay, whoever reads it", () => {
    expect(owesBalance(invoice({}))).toBe(true);
    expect(owesBalance(invoice({ amount_paid: 2000, balance: 4000 }))).toBe(true);
    expect(owesBalance(invoice({ balance: 0 }))).toBe(false);
    expect(owesBalance(invoice({ status: "paid", amount_paid: 6000, balance: 0 }))).toBe(false);
    expect(owesBalance(invoice({ status: "void" }))).toBe(false);
  });
});

describe("reports", () => {
  it("pivots revenue rows into months (in order) and methods, with zeros for the gaps", () => {
    const chart = pivotRevenue([
      { month: "2027-01", method: "mpesa", collected: 6500, refunds: 0, net: 6500 },
      { month: "2026-12", method: "mpesa", collected: 6000, refunds: 1000, net: 5000 },
      { month: "2026-12", method: "card", collected: 4000, refunds: 0, net: 4000 },
    ]);
    expect(chart.months).toEqual(["2026-12", "2027-01"]);
    expect(chart.methods).toEqual(["card", "mpesa"]);
    expect(chart.collected).toEqual({ card: [4000, 0], mpesa: [6000, 6500] });
    expect(chart.refunds).toEqual([1000, 0]);
    expect(chart.empty).toBe(false);
  });
  it("says a range with no money is empty, though billing answers every month of it with zeros", () => {
    const zeros = pivotRevenue([
      { month: "2026-11", method: "mpesa", collected: 0, refunds: 0, net: 0 },
      { month: "2026-12", method: "mpesa", collected: 0, refunds: 0, net: 0 },
    ]);
    expect(zeros.months).toEqual(["2026-11", "2026-12"]);
    expect(zeros.empty).toBe(true);
    expect(pivotRevenue([]).empty).toBe(true);
    expect(pivotRevenue([{ month: "2026-12", method: "card", collected: 0, refunds: 500, net: -500 }]).empty).toBe(false);
  });
  it("keeps the aging buckets in order", () => {
    expect(agingValues({ current: 1, "1-30": 2, "31-60": 3, "61-90": 4, "90+": 5, total: 15 })).toEqual([1, 2, 3, 4, 5]);
  });
  it("names a report month and a CSV file", () => {
    expect(formatMonth("2027-01", "en")).toBe("Jan 2027");
    expect(formatMonth("garbage", "en")).toBe("garbage");
    expect(csvFileName("aging", "2026-12-02")).toBe("jesh-aging-2026-12-02.csv");
  });
});
