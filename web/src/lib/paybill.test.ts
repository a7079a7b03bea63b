import { describe, expect, it } from "vitest";
import { paybillAccount, paybillNumber, pullOutcome } from "./paybill";

describe("paybillAccount", () => {
  it("is JESH-<id> for a booking, the reference its M-PESA prompt shows", () => {
    expect(paybillAccount({ booking: 42 })).toBe("JESH-42");
    expect(paybillAccount({ booking: 1 })).toBe("JESH-1");
  });
  it("is the invoice's number for an invoice", () => {
    expect(paybillAccount({ invoice: "INV-000123" })).toBe("INV-000123");
    expect(paybillAccount({ invoice: " inv-000007 " })).toBe("INV-000007");
  });
});

describe("paybillNumber", () => {
  it("is the business number when the Paybill is on", () => {
    expect(paybillNumber({ enabled: true, business_number: "174379" })).toBe("174379");
    expect(paybillNumber({ enabled: true, business_number: " 1234567 " })).toBe("1234567");
  });
  it("is null when it is off, unread or names no usable number", () => {
    expect(paybillNumber({ enabled: false, business_number: "174379" })).toBeNull();
    expect(paybillNumber({ enabled: true, business_number: null })).toBeNull();
    expect(paybillNumber({ enabled: true, business_number: "" })).toBeNull();
    expect(paybillNumber({ enabled: true, business_number: "1234" })).toBeNull();
    expect(paybillNumber({ enabled: true, business_number: "17437x" })).toBeNull();
    expect(paybillNumber(undefined)).toBeNull();
    expect(paybillNumber(null)).toBeNull();
  });
});

describe("pullOutcome", () => {
  const registered = "2025-03-10T09:00:00.123Z";
  const pull = (pulled_until: string, last_found = 0, last_error: string | null = null) =>
    ({ pulled_until, registered_at: registered, last_found, last_error });
  it("is pending from the registration (47 hours back) until a pull has listed the payments", () => {
    expect(pullOutcome(pull("2025-03-08T10:00:00.120Z"))).toBe("pending");
  });
  it("is none or found once a pull listed them, by what it took", () => {
    expect(pullOutcome(pull("2025-03-10T09:01:00Z"))).toBe("none");
    expect(pullOutcome(pull("2025-03-10T09:01:00+03:00"))).toBe("pending");
    expect(pullOutcome(pull("2025-03-10T09:11:00Z", 2))).toBe("found");
  });
  it("is failed when the last pull failed, listed before or not", () => {
    expect(pullOutcome(pull("2025-03-08T10:00:00Z", 0, "M-PESA did not list the payments: timeout"))).toBe("failed");
    expect(pullOutcome(pull("2025-03-10T10:00:00Z", 0, "M-PESA did not list the payments: 500"))).toBe("failed");
  });
});
