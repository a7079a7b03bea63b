import { describe, expect, it } from "vitest";
import { describeWait, parseRetryAfter } from "./retryAfter";

describe("parseRetryAfter", () => {
  it("reads delay-seconds", () => {
    expect(parseRetryAfter("120")).toBe(120);
    expect(parseRetryAfter(" 5 ")).toBe(5);
    expect(parseRetryAfter("0")).toBe(1);
  });
  it("reads an HTTP date against now", () => {
    const now = Date.parse("2026-12-01T10:00:00Z");
    expect(parseRetryAfter("Tue, 01 Dec 2026 10:02:00 GMT", now)).toBe(120);
    expect(parseRetryAfter("Tue, 01 Dec 2026 09:00:00 GMT", now)).toBe(1);
  });
  it("is undefined when absent or unreadable", () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("")).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter("-3")).toBeUndefined();
  });
});

describe("describeWait: the unit people would say, rounded up", () => {
  it("counts seconds under a minute", () => {
    expect(describeWait(1)).toEqual({ unit: "second", n: 1 });
    expect(describeWait(0)).toEqual({ unit: "second", n: 1 });
    expect(describeWait(59)).toEqual({ unit: "seconds", n: 59 });
  });
  it("counts minutes up to an hour and a half", () => {
    expect(describeWait(60)).toEqual({ unit: "minute", n: 1 });
    expect(describeWait(61)).toEqual({ unit: "minutes", n: 2 });
    expect(describeWait(900)).toEqual({ unit: "minutes", n: 15 });
    expect(describeWait(5400)).toEqual({ unit: "minutes", n: 90 });
  });
  it("counts hours beyond", () => {
    expect(describeWait(5401)).toEqual({ unit: "hours", n: 2 });
    expect(describeWait(86400)).toEqual({ unit: "hours", n: 24 });
  });
});
