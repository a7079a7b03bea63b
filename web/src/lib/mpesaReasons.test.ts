import { describe, expect, it } from "vitest";
import { sayReason } from "./mpesaReasons";
import resultCodesPy from "../../../services/payments/src/payments/result_codes.py?raw";

describe("M-PESA's reasons", () => {
  // Every reason payments gives for a code (result_codes.REASONS, but 0: paid) is said in Kiswahili.
  const reasons = [...resultCodesPy.matchAll(/^ {4}(\d+): "(.+)",$/gm)]
    .map((m) => [Number(m[1]), m[2] ?? ""] as const)
    .filter(([code]) => code !== 0);

  it("reads them from the payments service", () => {
    expect(reasons.length).toBeGreaterThan(10);
    expect(reasons).toContainEqual([1032, "The payment was cancelled by the user"]);
  });

  it.each(reasons)("says %i (%s) in Kiswahili, and as payments said it in English", (_, reason) => {
    expect(sayReason(reason, "sw")).not.toBe(reason);
    expect(sayReason(reason, "en")).toBe(reason);
  });

  it("says another code with Daraja's own words, or without; any other sentence as given", () => {
    expect(sayReason("The payment failed (M-PESA result 9999): Something odd", "sw"))
      .toBe("Malipo hayakufanikiwa (jibu la M-PESA 9999): Something odd");
    expect(sayReason("The payment failed (M-PESA result 9999)", "sw")).toBe("Malipo hayakufanikiwa (jibu la M-PESA 9999)");
    expect(sayReason("Something no table has", "sw")).toBe("Something no table has");
  });
});
