import { describe, expect, it } from "vitest";
import { allPages, hasNextPage, offsetParam, previousOffset } from "./paging";

describe("paging without a total", () => {
  it("reads the offset from the URL, 0 for anything else", () => {
    expect(offsetParam("100")).toBe(100);
    expect(offsetParam(null)).toBe(0);
    expect(offsetParam("")).toBe(0);
    expect(offsetParam("-50")).toBe(0);
    expect(offsetParam("1.5")).toBe(0);
    expect(offsetParam("abc")).toBe(0);
  });
  it("offers a next page when a page came back full", () => {
    expect(hasNextPage(50, 50)).toBe(true);
    expect(hasNextPage(49, 50)).toBe(false);
    expect(hasNextPage(0, 50)).toBe(false);
  });
  it("goes back a page, never below the first", () => {
    expect(previousOffset(100, 50)).toBe(50);
    expect(previousOffset(30, 50)).toBe(0);
    expect(previousOffset(0, 50)).toBe(0);
  });
});

describe("allPages", () => {
  it("asks page after page until one comes back short", async () => {
    const rows = Array.from({ length: 5 }, (_, i) => i);
    const asked: number[] = [];
    const answer = await allPages(async (offset, limit) => {
      asked.push(offset);
      return { rows: rows.slice(offset, offset + limit) };
    }, 2);
    expect(answer.rows).toEqual([0, 1, 2, 3, 4]);
    expect(asked).toEqual([0, 2, 4]);
  });

  it("asks once more after a full last page, and stops at the empty one", async () => {
    const asked: number[] = [];
    const answer = await allPages(async (offset) => {
      asked.push(offset);
      return { rows: offset === 0 ? ["a", "b"] : [] };
    }, 2);
    expect(answer.rows).toEqual(["a", "b"]);
    expect(asked).toEqual([0, 2]);
  });

  it("answers the first error and nothing else", async () => {
    const answer = await allPages(async (offset) => (offset === 0 ? { rows: [1, 2] } : { error: { message: "x", status: 503 } }), 2);
    expect(answer).toEqual({ error: { message: "x", status: 503 } });
  });
});
