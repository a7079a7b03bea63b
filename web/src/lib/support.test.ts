import { describe, expect, it } from "vitest";
import { telHref } from "./support";

describe("telHref", () => {
  it("keeps only the digits of a local number", () => {
    expect(telHref("0711 222 333")).toBe("tel:0711222333");
    expect(telHref("0700-000-000")).toBe("tel:0700000000");
  });
  it("keeps the + of an international number", () => {
    expect(telHref("+254 711 222 333")).toBe("tel:+254711222333");
    expect(telHref(" +254 (711) 222-333 ")).toBe("tel:+254711222333");
  });
  it("is null without a digit", () => {
    expect(telHref("")).toBeNull();
    expect(telHref("call us")).toBeNull();
  });
});
