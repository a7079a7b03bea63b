import { describe, expect, it } from "vitest";
import { snapshotOf, type PaymentStatus } from "./paymentStatus";

const status = (over: Partial<PaymentStatus> = {}): PaymentStatus => ({
  id: 41, status: "pending", amount: 3500, method: "mpesa", transaction_code: null,
  timestamp: "2026-03-02T09:00:00Z", ...over,
});

describe("snapshotOf", () => {
  it("reads a settled payment: its receipt and method", () => {
    expect(snapshotOf(status({ status: "success", transaction_code: "SIM0000041" }))).toEqual({
      status: "success", reason: null, transactionCode: "SIM0000041", method: "mpesa",
    });
  });

  it("carries why a failed payment failed", () => {
    expect(snapshotOf(status({ status: "failed", reason: "The payment was cancelled by the user" }))).toMatchObject({
      status: "failed", reason: "The payment was cancelled by the user",
    });
  });

  it("reads any other status as still pending", () => {
    expect(snapshotOf(status({ status: "unknown" }))?.status).toBe("pending");
  });

  it("follows only the payment asked about: another (older or newer) one is not it", () => {
    expect(snapshotOf(status({ id: 40, status: "failed", reason: "Insufficient funds" }), 41)).toBeNull();
    expect(snapshotOf(status({ id: 42, status: "success" }), 41)).toBeNull();
    expect(snapshotOf(status({ id: 41, status: "success" }), 41)?.status).toBe("success");
  });
});
