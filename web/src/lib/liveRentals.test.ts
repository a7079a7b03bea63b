import { describe, expect, it } from "vitest";
import { closeWarning, isLive, liveRecords } from "./liveRentals";
import { translate } from "../i18n/i18n";

const TODAY = "2026-03-10";
const en = translate.bind(null, "en");
const sw = translate.bind(null, "sw");
const warn = (bookings: Parameters<typeof liveRecords>[0], invoices: Parameters<typeof liveRecords>[1] = []) =>
  closeWarning(liveRecords(bookings, invoices, TODAY), en);

describe("isLive: a booking billing or the unit still holds the customer to", () => {
  it("is a pending booking, whatever its dates", () => {
    expect(isLive({ status: "pending", end_date: "2026-01-01" }, TODAY)).toBe(true);
  });
  it("is a confirmed one not over yet (its move-out day included) or open-ended", () => {
    expect(isLive({ status: "confirmed", end_date: "2026-04-01" }, TODAY)).toBe(true);
    expect(isLive({ status: "confirmed", end_date: TODAY }, TODAY)).toBe(true);
    expect(isLive({ status: "confirmed", end_date: null }, TODAY)).toBe(true);
  });
  it("is not one that ended or was cancelled", () => {
    expect(isLive({ status: "confirmed", end_date: "2026-03-09" }, TODAY)).toBe(false);
    expect(isLive({ status: "cancelled", end_date: null }, TODAY)).toBe(false);
  });
});

describe("closeWarning: what the close confirmation adds", () => {
  it("adds nothing when nothing is live and nothing is owed", () => {
    expect(warn([])).toBe("");
    expect(warn([{ id: 3, status: "confirmed", end_date: "2026-02-01" }, { id: 4, status: "cancelled", end_date: null }],
      [{ status: "open", balance: 0 }])).toBe("");
  });
  it("names a pending booking", () => {
    expect(warn([{ id: 12, status: "pending", end_date: "2026-04-09" }])).toBe(
      "They have 1 live booking (#12): billing goes on, and they cannot log in to pay until the account is reopened.");
  });
  it("does not count a fixed booking that ended, counts an open-ended monthly rental, and adds what is owed", () => {
    expect(warn([
      { id: 15, status: "confirmed", end_date: null },
      { id: 7, status: "confirmed", end_date: "2026-03-01" },
      { id: 12, status: "pending", end_date: "2026-04-09" },
    ], [{ status: "open", balance: 2000 }, { status: "open", balance: 1500 }, { status: "paid", balance: 0 }])).toBe(
      "They have 2 live bookings (#12, #15) and owe KES 3,500 on open invoices: billing goes on, and they cannot "
      + "log in to pay until the account is reopened.");
  });
  it("names an open balance alone (an ended rental's last invoice)", () => {
    expect(warn([{ id: 7, status: "confirmed", end_date: "2026-03-01" }], [{ status: "open", balance: 5200 }]))
      .toBe("They owe KES 5,200 on open invoices: they cannot log in to pay until the account is reopened.");
  });
  it("says so when the bookings could not be checked", () => {
    expect(closeWarning(null, en)).toMatch(/^Their bookings and invoices could not be checked/);
  });
  it("reads the same in Swahili", () => {
    const records = { bookingIds: [12, 15], owed: 3500 };
    expect(closeWarning(records, sw)).toBe("Ana nafasi 2 zinazoendelea (#12, #15) na anadaiwa KES 3,500 kwenye ankara "
      + "zilizo wazi: kodi inaendelea kutozwa, na hataweza kuingia ili kulipa hadi akaunti ifunguliwe tena.");
    expect(closeWarning({ bookingIds: [12], owed: 0 }, sw)).toMatch(/^Ana nafasi 1 inayoendelea \(#12\)/);
  });
});
