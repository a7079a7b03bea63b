import { describe, expect, it } from "vitest";
import { distinctIds, idBatches, searchQuery } from "./customers";

describe("searchQuery: the search box's text as the q sent to the directory", () => {
  it("is undefined for nothing to search", () => {
    expect(searchQuery("")).toBeUndefined();
    expect(searchQuery("   ")).toBeUndefined();
    expect(searchQuery(null)).toBeUndefined();
    expect(searchQuery(undefined)).toBeUndefined();
  });
  it("trims and makes runs of spaces one, a phone number kept as typed", () => {
    expect(searchQuery("  Akinyi   Otieno ")).toBe("Akinyi Otieno");
    expect(searchQuery("0712 345 678")).toBe("0712 345 678");
    expect(searchQuery("+254712345678")).toBe("+254712345678");
  });
  it("is cut to the 100 characters the server takes, with no space left at the cut", () => {
    expect(searchQuery("a".repeat(150))).toBe("a".repeat(100));
    expect(searchQuery(`${"a".repeat(99)} b`)).toBe("a".repeat(99));
  });
});

describe("idBatches: the customer ids of a page of rows, asked in as few requests as the server allows", () => {
  it("asks each id once, in order, skipping rows without one", () => {
    expect(distinctIds([7, 3, 7, null, 3, undefined, 12])).toEqual([3, 7, 12]);
    expect(idBatches([7, 3, 7, 12])).toEqual([[3, 7, 12]]);
  });
  it("skips what is no id", () => {
    expect(distinctIds([0, -1, 1.5, Number.NaN, 2 ** 60, 4])).toEqual([4]);
  });
  it("makes no request for no ids", () => {
    expect(idBatches([])).toEqual([]);
    expect(idBatches([null, undefined])).toEqual([]);
  });
  it("takes a page of 200 rows (the most the server takes) in one request, and 201 in two", () => {
    const ids = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(idBatches(ids)).toHaveLength(1);
    expect(idBatches([...ids, ...ids])).toHaveLength(1);
    const more = idBatches([...ids, 201]);
    expect(more.map((b) => b.length)).toEqual([200, 1]);
    expect(more[1]).toEqual([201]);
  });
  it("takes a smaller batch size", () => {
    expect(idBatches([5, 4, 3, 2, 1], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});
