// Closing an account does not stop billing: a customer with a live rental keeps being invoiced but can no longer log
// in to pay. The operator is told so before confirming, from the customer's bookings and open invoices.
import { api, type billingSchemas, type bookingSchemas } from "../api/client";
import type { MessageKey } from "../i18n/messages";
import { nairobiDate } from "./dates";
import { formatKES } from "./money";
import { allPages, MOST_ROWS } from "./paging";

type BookingRow = Pick<bookingSchemas["BookingOut"], "id" | "status" | "end_date">;
type InvoiceRow = Pick<billingSchemas["InvoiceOut"], "status" | "balance">;
type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** What still binds a customer: their live bookings' ids (ascending) and what their open invoices owe. */
export interface LiveRecords { bookingIds: number[]; owed: number }

/** Pending (held or awaiting payment), or confirmed and not over: open-ended, or ending today (its move-out day)
 *  or later. `today` is the Nairobi date, YYYY-MM-DD. */
export function isLive(b: Omit<BookingRow, "id">, today: string): boolean {
  return b.status === "pending" || (b.status === "confirmed" && (b.end_date === null || b.end_date >= today));
}

export function liveRecords(bookings: BookingRow[], invoices: InvoiceRow[], today: string): LiveRecords {
  return {
    bookingIds: bookings.filter((b) => isLive(b, today)).map((b) => b.id).sort((a, b) => a - b),
    owed: invoices.filter((i) => i.status === "open").reduce((sum, i) => sum + i.balance, 0),
  };
}

/** The sentence added to the close confirmation: "" when nothing is live; null records (the lookup failed) say
 *  that nothing could be checked, so the operator is never left to assume all is clear. */
export function closeWarning(records: LiveRecords | null, t: Translate): string {
  if (!records) return t("customer.closeLive.unchecked");
  const n = records.bookingIds.length;
  const vars = { n, ids: records.bookingIds.map((id) => `#${id}`).join(", "), amount: formatKES(records.owed) };
  const owes = records.owed > 0;
  if (n === 0) return owes ? t("customer.closeLive.owes", vars) : "";
  if (n === 1) return t(owes ? "customer.closeLive.oneOwes" : "customer.closeLive.one", vars);
  return t(owes ? "customer.closeLive.manyOwes" : "customer.closeLive.many", vars);
}

/** The customer's live records as the console (admin token) reads them, every page of both lists (a live rental may
 *  be older than a thousand later bookings), or null when a lookup fails. */
export async function loadLiveRecords(userId: number, today = nairobiDate()): Promise<LiveRecords | null> {
  try {
    const [bookings, invoices] = await Promise.all([
      allPages<BookingRow>(async (offset, limit) => {
        const { data } = await api.GET("/api/bookings", { params: { query: { user_id: userId, offset, limit } } });
        return data ? { rows: data.data } : {};
      }, MOST_ROWS),
      allPages<InvoiceRow>(async (offset, limit) => {
        const { data } = await api.GET("/api/invoices", { params: { query: { user_id: userId, status: "open", offset, limit } } });
        return data ? { rows: data.data } : {};
      }, MOST_ROWS),
    ]);
    return bookings.rows && invoices.rows ? liveRecords(bookings.rows, invoices.rows, today) : null;
  } catch {
    return null;
  }
}
