import { describe, expect, it } from "vitest";
import { paybillAccount, paybillNumber } from "./paybill";

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
