import { describe, expect, it } from "vitest";
import { merged, toLoadNext, type Source } from "./mergedPages";

type Row = { id: string; at: string };
const at = (r: Row) => r.at;
const rows = (...ats: string[]) => ats.map((a) => ({ id: a, at: a }));

describe("merged pages", () => {
  it("shows every row newest first when no source has more", () => {
    const sources: Source<Row>[] = [{ rows: rows("05", "01"), more: false }, { rows: rows("04", "02"), more: false }];
    expect(merged(sources, at)).toEqual({ rows: rows("05", "04", "02", "01"), more: false });
    expect(toLoadNext(sources, at)).toEqual([]);
  });

  it("holds back rows older than what a source with more may still hold", () => {
    // a busy source (more) whose page reaches back to 08; a quiet one done, with an old row
    const sources: Source<Row>[] = [{ rows: rows("10", "09", "08"), more: true }, { rows: rows("09b", "03"), more: false }];
    expect(merged(sources, at).rows.map((r) => r.id)).toEqual(["10", "09b", "09", "08"]);
    expect(merged(sources, at).more).toBe(true);
    expect(toLoadNext(sources, at)).toEqual([0]);
  });

  it("loads next only the sources at the horizon", () => {
    const sources: Source<Row>[] = [
      { rows: rows("10", "07"), more: true },
      { rows: rows("09", "05"), more: true },
      { rows: [], more: false },
    ];
    expect(merged(sources, at).rows.map((r) => r.id)).toEqual(["10", "09", "07"]);
    expect(toLoadNext(sources, at)).toEqual([0]);
  });

  it("shows nothing until every source with more has a page, and asks those without one first", () => {
    const sources: Source<Row>[] = [{ rows: [], more: true }, { rows: rows("02"), more: true }];
    expect(merged(sources, at).rows).toEqual([]);
    expect(toLoadNext(sources, at)).toEqual([0]);
  });
});
