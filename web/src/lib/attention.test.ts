import { describe, expect, it } from "vitest";
import { attentionLines, handledHref, listsToReadAgain, needingAction, type MoneyWaiting } from "./attention";
import { everyEnglish as en } from "../i18n/everyEnglish";
import { sw } from "../i18n/sw";

const none = (what: MoneyWaiting["what"]): MoneyWaiting => ({ what, count: 0, kes: 0, oldest_at: null });
const ALL: MoneyWaiting["what"][] = ["unmatched", "payments_unknown", "refunds_required", "refunds_approved",
  "refunds_paying", "refunds_failed", "paybill_unverified"];

describe("attentionLines", () => {
  it("shows nothing when nothing waits (every kind with count 0), or before the answer came", () => {
    expect(attentionLines(ALL.map(none))).toEqual([]);
    expect(attentionLines(undefined)).toEqual([]);
  });

  it("shows the kinds with something waiting, in the fixed order whatever the answer's order", () => {
    const waiting: MoneyWaiting[] = [
      { what: "paybill_unverified", count: 1, kes: 700, oldest_at: "2026-12-03T07:42:00Z" },
      none("refunds_paying"),
      { what: "refunds_failed", count: 2, kes: 3000, oldest_at: "2026-12-01T09:00:00Z" },
      { what: "unmatched", count: 3, kes: 13500, oldest_at: "2026-12-02T10:00:00Z" },
      none("payments_unknown"),
    ];
    expect(attentionLines(waiting)).toEqual([
      { what: "unmatched", label: "attention.unmatched", count: 3, kes: 13500, oldestAt: "2026-12-02T10:00:00Z",
        handled: { section: "unmatched" } },
      { what: "refunds_failed", label: "attention.refundsFailed", count: 2, kes: 3000, oldestAt: "2026-12-01T09:00:00Z",
        handled: { section: "refunds", refunds: "failed" } },
      { what: "paybill_unverified", label: "attention.paybillUnverified", count: 1, kes: 700,
        oldestAt: "2026-12-03T07:42:00Z", handled: { section: "paybill" } },
    ]);
  });

  it("has no section for a payment whose outcome is unknown, and leaves out a kind it does not know", () => {
    const waiting = [
      { what: "payments_unknown", count: 1, kes: 4500, oldest_at: null },
      { what: "something_new", count: 5, kes: 1, oldest_at: null },
    ] as unknown as MoneyWaiting[];
    expect(attentionLines(waiting)).toEqual([
      { what: "payments_unknown", label: "attention.paymentsUnknown", count: 1, kes: 4500, oldestAt: null, handled: null },
    ]);
  });

  it("has words in English and Kiswahili for every kind", () => {
    const lines = attentionLines(ALL.map((what) => ({ what, count: 1, kes: 1, oldest_at: null })));
    expect(lines.map((l) => l.what)).toEqual(ALL);
    expect(new Set(lines.map((l) => l.label)).size).toBe(ALL.length);
    for (const l of lines) {
      expect(en[l.label]).toBeTruthy();
      expect(sw[l.label]).not.toBe(en[l.label]);
    }
  });
});

describe("needingAction: the Money tab's count", () => {
  it("counts what an operator must act on, not what waits for M-PESA or Pesapal", () => {
    const waiting: MoneyWaiting[] = [
      { what: "unmatched", count: 1, kes: 4500, oldest_at: null },
      { what: "payments_unknown", count: 2, kes: 100, oldest_at: null },
      { what: "refunds_required", count: 3, kes: 100, oldest_at: null },
      { what: "refunds_approved", count: 10, kes: 100, oldest_at: null },
      { what: "refunds_paying", count: 20, kes: 100, oldest_at: null },
      { what: "refunds_failed", count: 4, kes: 100, oldest_at: null },
      { what: "paybill_unverified", count: 40, kes: 100, oldest_at: null },
    ];
    expect(needingAction(waiting)).toBe(10);
  });
  it("is 0 when only the providers are waited for, or nothing is known yet", () => {
    expect(needingAction([{ what: "refunds_paying", count: 2, kes: 100, oldest_at: null }, none("unmatched")])).toBe(0);
    expect(needingAction(undefined)).toBe(0);
  });
});

describe("handledHref", () => {
  it("is the section's anchor, with the refunds list filtered to the line's status", () => {
    expect(handledHref({ section: "unmatched" })).toBe("#unmatched");
    expect(handledHref({ section: "paybill" })).toBe("#paybill");
    expect(handledHref({ section: "refunds", refunds: "failed" })).toBe("?refunds=failed#refunds");
  });
});

describe("listsToReadAgain: the lists that follow the figures read in the background", () => {
  const read = (figures: Partial<Record<MoneyWaiting["what"], [number, number]>>): MoneyWaiting[] =>
    ALL.map((what) => ({ what, count: figures[what]?.[0] ?? 0, kes: figures[what]?.[1] ?? 0, oldest_at: null }));

  it("reads nothing again when no figure moved, or before the first read", () => {
    const waiting = read({ unmatched: [1, 4500], refunds_required: [2, 900] });
    expect(listsToReadAgain(waiting, read({ unmatched: [1, 4500], refunds_required: [2, 900] }))).toEqual([]);
    expect(listsToReadAgain(undefined, waiting)).toEqual([]);
    expect(listsToReadAgain(null, waiting)).toEqual([]);
  });
  it("reads the unmatched and Paybill lists again when unmatched money came or went", () => {
    expect(listsToReadAgain(read({}), read({ unmatched: [1, 4500] }))).toEqual(["paybill", "unmatched"]);
    expect(listsToReadAgain(read({ unmatched: [2, 9000] }), read({ unmatched: [1, 4500] })))
      .toEqual(["paybill", "unmatched"]);
  });
  it("reads the refunds list again when any refund figure moved, the shillings alone included", () => {
    expect(listsToReadAgain(read({ refunds_required: [1, 500] }), read({ refunds_required: [1, 700] })))
      .toEqual(["refunds"]);
    expect(listsToReadAgain(read({ refunds_paying: [1, 500] }), read({ refunds_approved: [1, 500] })))
      .toEqual(["refunds"]);
  });
  it("reads the Paybill list again for unverified Paybill money, and no list for an unknown outcome", () => {
    expect(listsToReadAgain(read({}), read({ paybill_unverified: [1, 100] }))).toEqual(["paybill"]);
    expect(listsToReadAgain(read({}), read({ payments_unknown: [3, 300] }))).toEqual([]);
  });
  it("takes a kind missing from an answer as nothing waiting", () => {
    expect(listsToReadAgain([], read({}))).toEqual([]);
    expect(listsToReadAgain([], read({ unmatched: [1, 10] }))).toEqual(["paybill", "unmatched"]);
  });
});

