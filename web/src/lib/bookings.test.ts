import { describe, expect, it } from "vitest";
import { awaitingPayment } from "./bookings";

describe("awaitingPayment", () => {
  it("is a pending booking no payment has settled", () => {
    expect(awaitingPayment({ status: "pending", payment_status: "pending" })).toBe(true);
    expect(awaitingPayment({ status: "pending", payment_status: "failed" })).toBe(true); // may be paid again
  });
  it("is not a paid one (confirmation on its way), a confirmed one nor a cancelled one", () => {
    expect(awaitingPayment({ status: "pending", payment_status: "success" })).toBe(false);
    expect(awaitingPayment({ status: "confirmed", payment_status: "success" })).toBe(false);
    expect(awaitingPayment({ status: "cancelled", payment_status: "pending" })).toBe(false);
  });
});
