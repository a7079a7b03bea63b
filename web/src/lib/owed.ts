// What each rental owes, for "My bookings" (the main chunk): apart from ./billing, whose rules only the signed-in
// pages past that list use, so that the main chunk does not carry them.
import type { Invoice } from "./billing";

/** What each rental owes: the open invoices' balances summed per booking. */
export function balancesByBooking(invoices: readonly Pick<Invoice, "booking_id" | "status" | "balance">[]): Map<number, number> {
  const owed = new Map<number, number>();
  for (const i of invoices) {
    if (i.status === "open" && i.balance > 0) owed.set(i.booking_id, (owed.get(i.booking_id) ?? 0) + i.balance);
  }
  return owed;
}
