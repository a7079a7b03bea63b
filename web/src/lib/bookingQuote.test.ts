import { describe, expect, it } from "vitest";
import { everyEnglish as en } from "../i18n/everyEnglish";
import type { MessageKey } from "../i18n/messages";
import { sw } from "../i18n/sw";
import { QUOTE_WORDING, quoteBooking } from "./bookingQuote";

const today = "2026-12-03";

describe("quoteBooking", () => {
  it("fixed dates: the days and the server's estimate", () => {
    expect(quoteBooking({ plan: "fixed", start: today, end: "2027-01-02", today, monthlyPrice: 3500 }))
      .toEqual({ valid: true, rangeError: null, days: 30, estimate: 3500 });
    expect(quoteBooking({ plan: "fixed", start: "2026-12-04", end: "2026-12-14", today, monthlyPrice: 3500 }).estimate)
      .toBe(1167); // ceil(3500 * 10 / 30)
  });
  it("month to month: bookable from today, whatever the end field holds, no estimate", () => {
    expect(quoteBooking({ plan: "monthly", start: today, end: "", today, monthlyPrice: 4800 }))
      .toEqual({ valid: true, rangeError: null, days: 0, estimate: null });
  });
  it("says why the dates cannot be booked", () => {
    expect(quoteBooking({ plan: "fixed", start: "2026-12-02", end: "2026-12-10", today, monthlyPrice: 3500 }))
      .toEqual({ valid: false, rangeError: "book.startPast", days: 0, estimate: null });
    expect(quoteBooking({ plan: "fixed", start: "2026-12-10", end: "2026-12-10", today, monthlyPrice: 3500 }))
      .toEqual({ valid: false, rangeError: "book.endBeforeStart", days: 0, estimate: null });
    expect(quoteBooking({ plan: "monthly", start: "2026-12-02", end: "", today, monthlyPrice: 3500 }).valid).toBe(false);
  });
  it("half-typed dates are not bookable and not yet wrong", () => {
    expect(quoteBooking({ plan: "fixed", start: "2026-12-1", end: "2026-12-10", today, monthlyPrice: 3500 }))
      .toEqual({ valid: false, rangeError: null, days: 0, estimate: null });
    expect(quoteBooking({ plan: "fixed", start: today, end: "", today, monthlyPrice: 3500 }).valid).toBe(false);
  });
});

describe("QUOTE_WORDING", () => {
  // The desk's sentences that the portal words for the customer: the quote's hints and an open-ended rental's end.
  const operatorKeys: MessageKey[] = [...Object.values(QUOTE_WORDING.operator), "admin.openEnded"];

  it("the operator reads about the customer, in every language", () => {
    for (const key of operatorKeys) {
      expect(en[key], key).toMatch(/\bcustomer\b/);
      expect(en[key], key).not.toMatch(/\byou(r|rs)?\b/i);
      expect(sw[key], key).toMatch(/\bmteja\b/i);
    }
  });
  it("the customer's portal keeps its own wording", () => {
    expect(QUOTE_WORDING.customer).toEqual({
      monthlyHint: "book.monthlyQuoteHint", estimateHint: "book.estimateHint", pickDates: "book.pickDates",
    });
    expect(en["book.monthlyQuoteHint"]).toBe(
      "You pay the first month now; later invoices come a week before each month starts.");
  });
});
