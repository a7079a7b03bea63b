import type { MessageKey } from "../i18n/messages";
import { daysBetween, isIsoDate } from "./dates";
import { fixedRangeEstimate } from "./money";

export type Plan = "fixed" | "monthly";

/** What a booking form may show before the booking exists: whether the dates can be booked, why not, and the price. */
export type BookingQuote = {
  /** The start is today or later (Nairobi) and, for fixed dates, the end is after it. */
  valid: boolean;
  /** What is wrong with the fixed dates, for the end date's field (null when nothing, or not yet two dates). */
  rangeError: "book.startPast" | "book.endBeforeStart" | null;
  /** Fixed dates: the days booked (end exclusive); 0 otherwise. */
  days: number;
  /** Fixed dates: the server's ceil(monthly_price * days / 30); null otherwise. A monthly rental's price is the
   *  unit's monthly rent. */
  estimate: number | null;
};

/** The quote the customer's unit page and the console's desk booking both show, from the same rules. */
export function quoteBooking({ plan, start, end, today, monthlyPrice }: {
  plan: Plan; start: string; end: string; today: string; monthlyPrice: number;
}): BookingQuote {
  const monthly = plan === "monthly";
  const valid = isIsoDate(start) && start >= today && (monthly || (isIsoDate(end) && end > start));
  const days = valid && !monthly ? daysBetween(start, end) : 0;
  const rangeError = !isIsoDate(start) || !isIsoDate(end) ? null
    : start < today ? "book.startPast" : end <= start ? "book.endBeforeStart" : null;
  return { valid, rangeError, days, estimate: valid && !monthly ? fixedRangeEstimate(monthlyPrice, days) : null };
}

/** Who reads a quote: the customer booking on the portal, or the operator booking for them at the desk. */
export type QuoteReader = "customer" | "operator";

/** The quote's sentences that speak to its reader: the customer is told what they pay, the operator what the customer
 *  pays. The rest of the quote (the rent, the days, the price) reads the same to both. */
export const QUOTE_WORDING = {
  customer: { monthlyHint: "book.monthlyQuoteHint", estimateHint: "book.estimateHint", pickDates: "book.pickDates" },
  operator: { monthlyHint: "desk.monthlyQuoteHint", estimateHint: "desk.estimateHint", pickDates: "desk.pickDates" },
} as const satisfies Record<QuoteReader, Record<string, MessageKey>>;
