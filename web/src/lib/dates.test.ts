import { describe, expect, it } from "vitest";
import { addDays, dayParam, daysBetween, formatDay, formatInstant, formatSince, formatTime, isIsoDate, nairobiDate, nairobiLocalToIso, secondsUntil } from "./dates";

describe("nairobiDate: today as the business counts it", () => {
  it("is already tomorrow in Nairobi at 21:30 UTC", () => {
    expect(nairobiDate(new Date("2026-12-01T21:30:00Z"))).toBe("2026-12-02");
  });
  it("is still today at 20:59 UTC", () => {
    expect(nairobiDate(new Date("2026-12-01T20:59:59Z"))).toBe("2026-12-01");
  });
  it("crosses a year in Nairobi before it does in UTC", () => {
    expect(nairobiDate(new Date("2026-12-31T22:00:00Z"))).toBe("2027-01-01");
  });
});

describe("calendar arithmetic", () => {
  it("adds days across months and leap years", () => {
    expect(addDays("2026-12-01", 30)).toBe("2026-12-31");
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
    expect(addDays("2027-02-28", 1)).toBe("2027-03-01");
    expect(addDays("2027-01-01", -1)).toBe("2026-12-31");
  });
  it("counts days with an exclusive end, as bookings do", () => {
    expect(daysBetween("2026-12-01", "2026-12-31")).toBe(30);
    expect(daysBetween("2028-02-01", "2028-03-01")).toBe(29);
    expect(daysBetween("2026-12-05", "2026-12-01")).toBe(-4);
  });
  it("accepts only real dates", () => {
    expect(isIsoDate("2026-02-29")).toBe(false);
    expect(isIsoDate("2028-02-29")).toBe(true);
    expect(isIsoDate("2026-13-01")).toBe(false);
    expect(isIsoDate("1/12/2026")).toBe(false);
    expect(() => addDays("nope", 1)).toThrow(RangeError);
  });
  it("takes a day from a URL only when it is one: a hand-made value is as if absent", () => {
    expect(dayParam("2026-12-05")).toBe("2026-12-05");
    for (const bad of ["", "tomorrow", "2026-02-30", "5/12/2026", "2026-12-05T00:00"]) expect(dayParam(bad), bad).toBeNull();
    expect(dayParam(null)).toBeNull();
  });
});

describe("display", () => {
  it("shows a day without shifting it by a time zone", () => {
    expect(formatDay("2026-12-01", "en")).toContain("1 Dec 2026");
  });
  it("shows an instant in Nairobi time", () => {
    expect(formatInstant("2026-12-01T21:05:00Z", "en")).toMatch(/2 Dec 2026.*00:05/);
  });
  it("shows the time of an instant in Nairobi, on the 24-hour clock", () => {
    expect(formatTime("2026-12-01T21:05:00Z", "en")).toBe("00:05");
    expect(formatTime("2026-12-01T11:30:00Z", "sw")).toBe("14:30");
    expect(formatTime("not a time", "en")).toBe("not a time");
  });
  it("says since when something waited, in Nairobi, the year only when it is not this one", () => {
    const now = new Date("2026-12-04T08:00:00Z");
    expect(formatSince("2026-12-03T07:42:00Z", "en", now)).toBe("3 Dec, 10:42");
    expect(formatSince("2026-12-31T21:30:00Z", "en", new Date("2027-01-01T06:00:00Z"))).toBe("1 Jan, 00:30");
    expect(formatSince("2025-12-03T07:42:00Z", "en", now)).toBe("3 Dec 2025, 10:42");
    expect(formatSince("2026-12-03T07:42:00Z", "sw", now)).toBe("3 Des, 10:42");
    expect(formatSince("not a time", "en", now)).toBe("not a time");
  });
  it("reads a datetime-local value as Nairobi time", () => {
    expect(nairobiLocalToIso("2026-12-05T09:30")).toBe("2026-12-05T09:30:00+03:00");
    expect(nairobiLocalToIso("2026-02-30T09:30")).toBeNull();
  });
  it("counts the seconds left on a hold", () => {
    const now = new Date("2026-12-01T10:00:00Z");
    expect(secondsUntil("2026-12-01T10:15:00Z", now)).toBe(900);
    expect(secondsUntil("2026-12-01T09:00:00Z", now)).toBe(0);
  });
});
