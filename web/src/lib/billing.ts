// Monthly rentals as the customer and the operator see them: the delinquency stage, why access is suspended,
// revenue pivoted for a chart. The server computes every amount; these only arrange what it answered.
import type { billingSchemas } from "../api/client";
import type { Lang } from "./dates";

export type Invoice = billingSchemas["InvoiceOut"];
export type RentalAccount = billingSchemas["RentalAccount"];
export type RevenueRow = billingSchemas["RevenueRow"];
export type AgingBuckets = billingSchemas["AgingBuckets"];

export const STAGES = ["current", "late", "locked_out", "lien"] as const;
export type Stage = (typeof STAGES)[number];

/** The badge colour of a delinquency stage: good, a warning, or bad (access suspended). Unknown stages: muted. */
export function stageTone(stage: string): "ok" | "warn" | "bad" | "muted" {
  switch (stage) {
    case "current": return "ok";
    case "late": return "warn";
    case "locked_out":
    case "lien": return "bad";
    default: return "muted";
  }
}

/** The open invoice that drives the ladder: the one furthest past its due date (the oldest due first). */
export function oldestOverdue(invoices: readonly Invoice[]): Invoice | null {
  const overdue = invoices.filter((i) => i.status === "open" && i.balance > 0 && i.days_overdue > 0);
  if (overdue.length === 0) return null;
  return overdue.reduce((a, b) => (b.due_date < a.due_date || (b.due_date === a.due_date && b.id < a.id) ? b : a));
}

/** The open invoices of one rental, oldest first: the order a payment is applied in, and the order to pay them. */
export function openInvoices(invoices: readonly Invoice[]): Invoice[] {
  return invoices
    .filter((i) => i.status === "open" && i.balance > 0)
    .sort((a, b) => (a.due_date === b.due_date ? a.id - b.id : a.due_date < b.due_date ? -1 : 1));
}


export type AccessState =
  | { access: "active"; stage: string }
  | { access: "suspended"; stage: string; invoice: string | null; daysOverdue: number; balance: number };

/** Whether the gate code works and, if not, why: the overdue invoice, how late it is and what restores access. */
export function accessState(account: Pick<RentalAccount, "access" | "delinquency_stage" | "balance">,
  invoices: readonly Invoice[]): AccessState {
  if (account.access !== "suspended") return { access: "active", stage: account.delinquency_stage };
  const late = oldestOverdue(invoices);
  return {
    access: "suspended", stage: account.delinquency_stage, invoice: late?.number ?? null,
    daysOverdue: late?.days_overdue ?? 0, balance: account.balance,
  };
}

export interface RevenueChart {
  months: string[];
  methods: string[];
  /** collected per method, one value per month (0 where nothing came in) */
  collected: Record<string, number[]>;
  refunds: number[];
  /** nothing collected and nothing refunded in any month (billing answers a row of zeros for every month) */
  empty: boolean;
}

/** The revenue report's rows (a row per month and method) as a chart's categories and series, months in order. */
export function pivotRevenue(rows: readonly RevenueRow[]): RevenueChart {
  const months = [...new Set(rows.map((r) => r.month))].sort();
  const methods = [...new Set(rows.map((r) => r.method))].sort();
  const collected: Record<string, number[]> = Object.fromEntries(methods.map((m) => [m, months.map(() => 0)]));
  const refunds = months.map(() => 0);
  for (const r of rows) {
    const i = months.indexOf(r.month);
    collected[r.method]![i]! += r.collected;
    refunds[i]! += r.refunds;
  }
  const empty = rows.every((r) => r.collected === 0 && r.refunds === 0);
  return { months, methods, collected, refunds, empty };
}

export const AGING_BUCKETS = ["current", "1-30", "31-60", "61-90", "90+"] as const;

/** The aging totals in bucket order, for a chart. */
export function agingValues(totals: AgingBuckets): number[] {
  return AGING_BUCKETS.map((b) => totals[b]);
}

/** "2026-03" -> "Mar 2026" (en) / "Mac 2026" (sw): a report month, in words. */
export function formatMonth(month: string, lang: Lang): string {
  const m = /^(\d{4})-(\d{2})/.exec(month);
  if (!m) return month;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
  return new Intl.DateTimeFormat(lang === "sw" ? "sw-KE" : "en-KE", { month: "short", year: "numeric", timeZone: "UTC" })
    .format(date);
}

export type InvoiceStanding =
  | { standing: "paid" | "refunded" | "void" | "open"; tone: "ok" | "muted" | "warn" }
  | { standing: "overdue"; tone: "bad"; daysOverdue: number };

/** A paid invoice whose every shilling went back to the payer (a cancelled period): it reads "refunded", not "paid". */
export function fullyRefunded(invoice: Pick<Invoice, "status" | "amount_paid" | "amount_refunded">): boolean {
  return invoice.status === "paid" && invoice.amount_paid > 0 && invoice.amount_refunded >= invoice.amount_paid;
}

/** The status an invoice's badge shows: its own, or `refunded` for a paid invoice refunded in full. */
export function invoiceBadge(invoice: Pick<Invoice, "status" | "amount_paid" | "amount_refunded">): string {
  return fullyRefunded(invoice) ? "refunded" : invoice.status;
}

/** What an invoice document says of itself: paid (or refunded in full), void, open, or open and N days past its due
 *  date. */
export function invoiceStanding(
  invoice: Pick<Invoice, "status" | "days_overdue" | "amount_paid" | "amount_refunded">,
): InvoiceStanding {
  if (invoice.status === "void") return { standing: "void", tone: "muted" };
  if (fullyRefunded(invoice)) return { standing: "refunded", tone: "muted" };
  if (invoice.status === "paid") return { standing: "paid", tone: "ok" };
  if (invoice.days_overdue > 0) return { standing: "overdue", tone: "bad", daysOverdue: invoice.days_overdue };
  return { standing: "open", tone: "warn" };
}

/** Whether something is still to be paid on the invoice: open, with a balance. */
export function owesBalance(invoice: Pick<Invoice, "status" | "balance">): boolean {
  return invoice.status === "open" && invoice.balance > 0;
}

/** Whether the viewer is offered to pay the invoice: their own, with something left to pay (an operator reading a
 *  customer's invoice is not the one who pays it: they may send the customer the M-PESA prompt instead). */
export function payableBy(invoice: Pick<Invoice, "status" | "balance" | "user_id">, viewerId: number | undefined): boolean {
  return viewerId !== undefined && invoice.user_id === viewerId && owesBalance(invoice);
}
