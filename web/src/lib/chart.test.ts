import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { createElement } from "react";
import { barHeight, niceMax, stack, stackedMax, ticks } from "./chart";
import { BarChart } from "../components/BarChart";

describe("niceMax", () => {
  it("rounds the top of the axis up to 1, 2 or 5 times a power of ten", () => {
    expect(niceMax(7)).toBe(10);
    expect(niceMax(10)).toBe(10);
    expect(niceMax(11)).toBe(20);
    expect(niceMax(4_300)).toBe(5_000);
    expect(niceMax(6_500)).toBe(10_000);
    expect(niceMax(0.3)).toBe(0.5);
    expect(niceMax(100)).toBe(100);
  });
  it("gives an axis even with nothing to show", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(-5)).toBe(1);
    expect(niceMax(Number.NaN)).toBe(1);
  });
});

describe("ticks and bar heights", () => {
  it("spaces the axis evenly from 0 to the top", () => {
    expect(ticks(100, 4)).toEqual([0, 25, 50, 75, 100]);
    expect(ticks(0.5, 5)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  });
  it("scales a value to the plot's height, never past it and never below 0", () => {
    expect(barHeight(50, 100, 160)).toBe(80);
    expect(barHeight(0, 100, 160)).toBe(0);
    expect(barHeight(-20, 100, 160)).toBe(0);
    expect(barHeight(250, 100, 160)).toBe(160);
  });
});

describe("stacked bars", () => {
  const series = [{ name: "mpesa", values: [6000, 2000] }, { name: "card", values: [4000, 0] }];
  it("reaches the largest column's total", () => {
    expect(stackedMax(series, 2)).toBe(10_000);
  });
  it("puts each series on top of the one before, from the bottom of the plot", () => {
    const [first, second] = stack(series, 2, 10_000, 100);
    expect(first).toEqual([{ y: 40, h: 60 }, { y: 0, h: 40 }]);
    expect(second).toEqual([{ y: 80, h: 20 }, { y: 80, h: 0 }]);
  });
  it("draws one rect per non-empty segment and says the figures in its label", () => {
    const html = renderToStaticMarkup(createElement(BarChart, {
      title: "Revenue", categories: ["Jan", "Feb"], series, format: (v: number) => `${v / 1000}k`,
    }));
    expect(html.match(/<rect /g)?.length).toBe(3);
    expect(html).toContain('role="img"');
    expect(html).toContain("Jan: mpesa 6k, card 4k; Feb: mpesa 2k, card 0k");
    expect(html).toContain('class="swatch tone-1"');
  });
  it("labels an empty chart's axis 0 and 1 only", () => {
    const html = renderToStaticMarkup(createElement(BarChart, {
      title: "Aging", categories: ["Not yet due", "1–30 days"], series: [{ name: "KES", values: [0, 0] }], format: String,
    }));
    expect([...html.matchAll(/text-anchor="end"[^>]*>([^<]+)</g)].map((m) => m[1])).toEqual(["0", "1"]);
    expect(html).not.toContain("<rect ");
  });
});
