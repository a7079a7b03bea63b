import { describe, expect, it } from "vitest";
import { eraseConfirmed, erasureAskedAt, eraseOffer, holdReasons } from "./erasure";

const account = { id: 7, role: "user" as const, closed_at: "2026-03-01T09:00:00Z", erased_at: null };

describe("eraseOffer: when the customer's page offers to erase their personal data", () => {
  it("offers it for a closed customer account", () => {
    expect(eraseOffer(account, 1)).toBe("erase");
  });
  it("asks for the account to be closed first while it is open", () => {
    expect(eraseOffer({ ...account, closed_at: null }, 1)).toBe("closeFirst");
  });
  it("offers nothing for an operator, open or closed", () => {
    expect(eraseOffer({ ...account, role: "admin" }, 1)).toBeNull();
    expect(eraseOffer({ ...account, role: "admin", closed_at: null }, 1)).toBeNull();
  });
  it("offers nothing for one's own account, nor once it is erased", () => {
    expect(eraseOffer(account, 7)).toBeNull();
    expect(eraseOffer({ ...account, erased_at: "2026-03-02T09:00:00Z" }, 1)).toBeNull();
  });
});

describe("eraseConfirmed: the word typed before the button is enabled", () => {
  it("takes ERASE, spaces around it forgiven", () => {
    expect(eraseConfirmed("ERASE")).toBe(true);
    expect(eraseConfirmed("  ERASE ")).toBe(true);
  });
  it("refuses anything else", () => {
    for (const typed of ["", "ERAS", "erase", "ERASE NOW", "E R A S E"]) expect(eraseConfirmed(typed), typed).toBe(false);
  });
});

describe("holdReasons: why auth refused to erase, a reason a line", () => {
  it("lists each reason of a 409, its kind known or not", () => {
    const reasons = holdReasons({
      status: 409, message: "The customer's personal data cannot be erased yet",
      errors: [
        { field: "booking", message: "monthly rental 12 (unit A-03) is live" },
        { field: "invoice", message: "invoice INV-0042 is open with KES 1,200 due" },
        { field: "transport", message: "transport request 3 is scheduled" },
        { field: "something", message: "a new kind of hold" },
      ],
    });
    expect(reasons).toEqual([
      { kind: "booking", message: "monthly rental 12 (unit A-03) is live" },
      { kind: "invoice", message: "invoice INV-0042 is open with KES 1,200 due" },
      { kind: "transport", message: "transport request 3 is scheduled" },
      { kind: null, message: "a new kind of hold" },
    ]);
  });
  it("has none for another error, or a 409 without reasons", () => {
    expect(holdReasons(null)).toEqual([]);
    expect(holdReasons({ status: 409, message: "Close the account before erasing its personal data" })).toEqual([]);
    expect(holdReasons({ status: 503, message: "The billing service is unavailable, please retry",
      errors: [{ field: "x", message: "y" }] })).toEqual([]);
  });
});

describe("erasureAskedAt: a customer's request to be erased, while it is still to be done", () => {
  const asked = "2026-03-01T06:30:00Z";
  it("is when they asked, open or closed", () => {
    expect(erasureAskedAt({ erasure_requested_at: asked, erased_at: null })).toBe(asked);
  });
  it("is nothing when they never asked or withdrew", () => {
    expect(erasureAskedAt({ erasure_requested_at: null, erased_at: null })).toBeNull();
  });
  it("is nothing once the account is erased (the request is done)", () => {
    expect(erasureAskedAt({ erasure_requested_at: asked, erased_at: "2026-03-09T10:00:00Z" })).toBeNull();
  });
});
