import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { createElement } from "react";
import { fixedRangeEstimate, formatKES, transportEstimate } from "./money";
import { Price } from "../components/Price";
import { I18nProvider } from "../i18n/i18n";

describe("formatKES", () => {
  it("groups whole shillings", () => {
    expect(formatKES(3500)).toBe("KES 3,500");
    expect(formatKES(1234567)).toBe("KES 1,234,567");
    expect(formatKES(0)).toBe("KES 0");
    expect(formatKES(-500)).toBe("-KES 500");
  });
  it("never shows NaN", () => {
    expect(formatKES(Number.NaN)).toBe("KES —");
  });
});

describe("fixedRangeEstimate: the server's ceil(monthly_price * days / 30)", () => {
  it("rounds up to the next shilling", () => {
    expect(fixedRangeEstimate(3500, 30)).toBe(3500);
    expect(fixedRangeEstimate(3500, 1)).toBe(117); // 116.67
    expect(fixedRangeEstimate(7500, 45)).toBe(11250);
    expect(fixedRangeEstimate(1000, 7)).toBe(234); // 233.33
  });
  it("has no price for an empty or invalid range", () => {
    expect(fixedRangeEstimate(3500, 0)).toBeNull();
    expect(fixedRangeEstimate(3500, -3)).toBeNull();
    expect(fixedRangeEstimate(0, 30)).toBeNull();
  });
});

describe("transportEstimate", () => {
  it("is the base fee plus the rounded-up distance charge", () => {
    expect(transportEstimate(12)).toBe(2200);
    expect(transportEstimate(2.35)).toBe(1235);
    expect(transportEstimate(0)).toBeNull();
    expect(transportEstimate(501)).toBeNull();
  });
});

describe("<Price>", () => {
  const render = (props: Parameters<typeof Price>[0]) =>
    renderToStaticMarkup(createElement(I18nProvider, null, createElement(Price, props)));
  it("shows the amount and the period in the chosen language", () => {
    globalThis.localStorage = memoryStorage({ "jesh.lang": "sw" });
    const html = render({ amount: 7500, per: "month" });
    expect(html).toContain("<strong>KES 7,500</strong>");
    expect(html).toContain("/ mwezi");
  });
  it("marks an estimate", () => {
    globalThis.localStorage = memoryStorage({ "jesh.lang": "en" });
    expect(render({ amount: 117, estimate: true })).toMatch(/about.*KES 117/);
  });
});

function memoryStorage(initial: Record<string, string>): Storage {
  const data = new Map(Object.entries(initial));
  return {
    get length() { return data.size; },
    clear: () => data.clear(),
    getItem: (k) => data.get(k) ?? null,
    key: (i) => [...data.keys()][i] ?? null,
    removeItem: (k) => { data.delete(k); },
    setItem: (k, v) => { data.set(k, v); },
  };
}
