import { describe, expect, it } from "vitest";
import { allPages, myDataFileName } from "./myData";

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

describe("myDataFileName", () => {
  it("names the file by the day", () => {
    expect(myDataFileName("2026-12-02")).toBe("jesh-my-data-2026-12-02.json");
  });
});
