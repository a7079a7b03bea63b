import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BACKGROUND_REFRESH_MS, documentVisibility, startBackgroundRefresh, type Visibility } from "./backgroundRefresh";

const MINUTE = 60_000;

/** A tab whose visibility the test sets, telling its listeners as the browser does. */
function fakeTab(visible = true) {
  let now = visible;
  const listeners = new Set<() => void>();
  const visibility: Visibility = {
    visible: () => now,
    onChange: (changed) => {
      listeners.add(changed);
      return () => void listeners.delete(changed);
    },
  };
  return {
    visibility,
    set(v: boolean) {
      now = v;
      for (const changed of [...listeners]) changed();
    },
    listeners: () => listeners.size,
    /** Hidden without a word (a change event the page missed). */
    hideQuietly() {
      now = false;
    },
  };
}

/** A read whose answers the test gives one by one: each call waits until `answer` (or `fail`) settles it. */
function manualReads<T>() {
  const pending: { settle: (v: T | undefined) => void; fail: (e: Error) => void; signal: AbortSignal }[] = [];
  let calls = 0;
  const read = (signal: AbortSignal) => {
    calls++;
    return new Promise<T | undefined>((settle, fail) => pending.push({ settle, fail, signal }));
  };
  return {
    read,
    calls: () => calls,
    inFlight: () => pending.length,
    async answer(v: T | undefined) {
      pending.shift()!.settle(v);
      await vi.advanceTimersByTimeAsync(0);
    },
    async fail() {
      pending.shift()!.fail(new Error("502"));
      await vi.advanceTimersByTimeAsync(0);
    },
    signal: (i = 0) => pending[i]!.signal,
  };
}

/** A refresh started on a visible tab with manualReads: what each test of the reads under way starts from. */
function startedWithManualReads() {
  const tab = fakeTab(true);
  const reads = manualReads<number>();
  const seen: number[] = [];
  const r = startBackgroundRefresh({ read: reads.read, onAnswer: (v) => seen.push(v), visibility: tab.visibility });
  return { tab, reads, seen, r };
}

/** Reads answered at once, from a list (an Error is thrown, undefined is a failed read). */
function answering(answers: (number | Error | undefined)[]) {
  let calls = 0;
  return {
    read: async () => {
      const a = answers[Math.min(calls, answers.length - 1)];
      calls++;
      if (a instanceof Error) throw a;
      return a;
    },
    calls: () => calls,
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("startBackgroundRefresh", () => {
  it("reads every minute while the tab is visible, not at start (the caller has just read)", async () => {
    const tab = fakeTab(true);
    const reads = answering([1, 2, 3]);
    const seen: number[] = [];
    const r = startBackgroundRefresh({ read: reads.read, onAnswer: (v) => seen.push(v), visibility: tab.visibility });
    expect(BACKGROUND_REFRESH_MS).toBe(MINUTE);
    await vi.advanceTimersByTimeAsync(MINUTE - 1);
    expect(reads.calls()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(MINUTE - 1);
    expect(reads.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads.calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(reads.calls()).toBe(3);
    expect(seen).toEqual([1, 2, 3]);
    r.stop();
  });

  it("does not read while the tab is hidden, and reads at once when it is visible again", async () => {
    const tab = fakeTab(true);
    const reads = answering([7]);
    const r = startBackgroundRefresh({ read: reads.read, onAnswer: () => {}, visibility: tab.visibility });
    await vi.advanceTimersByTimeAsync(30_000);
    tab.set(false);
    expect(vi.getTimerCount()).toBe(0); // nothing left to wake a hidden tab
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(reads.calls()).toBe(0);
    tab.set(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(reads.calls()).toBe(1);
    // The minute counts from the read on coming back.
    await vi.advanceTimersByTimeAsync(MINUTE - 1);
    expect(reads.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads.calls()).toBe(2);
    // A change that is no change (visible again while visible) reads nothing.
    tab.set(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(reads.calls()).toBe(2);
    r.stop();
  });

  it("a tick in a tab found hidden reads nothing, even when the change went unheard", async () => {
    const tab = fakeTab(true);
    const reads = answering([1]);
    const r = startBackgroundRefresh({ read: reads.read, onAnswer: () => {}, visibility: tab.visibility });
    tab.hideQuietly();
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    expect(reads.calls()).toBe(0);
    tab.set(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(reads.calls()).toBe(1);
    r.stop();
  });

  it("started in a hidden tab, waits for it to be visible", async () => {
    const tab = fakeTab(false);
    const reads = answering([7]);
    const r = startBackgroundRefresh({ read: reads.read, onAnswer: () => {}, visibility: tab.visibility });
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    expect(reads.calls()).toBe(0);
    tab.set(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(reads.calls()).toBe(1);
    r.stop();
  });

  it("never starts a read while one is under way, and ticks on once it is done", async () => {
    const { tab, reads, seen, r } = startedWithManualReads();
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(reads.calls()).toBe(1);
    // A slow server: three more ticks, and the tab hidden and shown again, start nothing.
    await vi.advanceTimersByTimeAsync(3 * MINUTE);
    tab.set(false);
    tab.set(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(reads.calls()).toBe(1);
    expect(reads.inFlight()).toBe(1);
    await reads.answer(4);
    expect(seen).toEqual([4]);
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(reads.calls()).toBe(2);
    r.stop();
  });

  it("leaves a tick out while the page's own read is under way (busy)", async () => {
    const tab = fakeTab(true);
    const reads = answering([1]);
    let busy = true;
    const r = startBackgroundRefresh({ read: reads.read, onAnswer: () => {}, busy: () => busy, visibility: tab.visibility });
    await vi.advanceTimersByTimeAsync(2 * MINUTE);
    tab.set(false);
    tab.set(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(reads.calls()).toBe(0);
    busy = false;
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(reads.calls()).toBe(1);
    r.stop();
  });

  it("keeps the last answer when a read fails, and tries again at the next tick", async () => {
    const tab = fakeTab(true);
    const reads = answering([3, new Error("network"), undefined, 5]);
    const seen: number[] = [];
    const r = startBackgroundRefresh({ read: reads.read, onAnswer: (v) => seen.push(v), visibility: tab.visibility });
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(seen).toEqual([3]);
    await vi.advanceTimersByTimeAsync(MINUTE); // thrown
    await vi.advanceTimersByTimeAsync(MINUTE); // an error answer (undefined)
    expect(reads.calls()).toBe(3);
    expect(seen).toEqual([3]);
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(reads.calls()).toBe(4);
    expect(seen).toEqual([3, 5]);
    r.stop();
  });

  it("a failure that takes its time does not stop the ticks either", async () => {
    const { reads, seen, r } = startedWithManualReads();
    await vi.advanceTimersByTimeAsync(MINUTE);
    await vi.advanceTimersByTimeAsync(30_000);
    await reads.fail();
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(reads.calls()).toBe(2);
    await reads.answer(2);
    expect(seen).toEqual([2]);
    r.stop();
  });

  it("cancel drops the read under way (aborted, its answer unused) and the ticks go on", async () => {
    const { reads, seen, r } = startedWithManualReads();
    await vi.advanceTimersByTimeAsync(MINUTE);
    const signal = reads.signal();
    r.cancel();
    expect(signal.aborted).toBe(true);
    await reads.answer(9); // a read that ignores its signal: its answer is dropped all the same
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(reads.calls()).toBe(2);
    await reads.answer(10);
    expect(seen).toEqual([10]);
    r.stop();
  });

  it("stop (logged out, not an admin, console left) ends the reads and drops the one under way", async () => {
    const { tab, reads, seen, r } = startedWithManualReads();
    await vi.advanceTimersByTimeAsync(MINUTE);
    const signal = reads.signal();
    r.stop();
    expect(signal.aborted).toBe(true);
    expect(tab.listeners()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await reads.answer(9);
    tab.set(false);
    tab.set(true);
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(reads.calls()).toBe(1);
    expect(seen).toEqual([]);
  });
});

describe("documentVisibility", () => {
  it("follows the document's visibilityState and its visibilitychange event", () => {
    const doc = Object.assign(new EventTarget(), { visibilityState: "visible" as DocumentVisibilityState });
    const v = documentVisibility(doc);
    let changes = 0;
    const unsubscribe = v.onChange(() => changes++);
    expect(v.visible()).toBe(true);
    doc.visibilityState = "hidden";
    doc.dispatchEvent(new Event("visibilitychange"));
    expect(v.visible()).toBe(false);
    expect(changes).toBe(1);
    unsubscribe();
    doc.dispatchEvent(new Event("visibilitychange"));
    expect(changes).toBe(1);
  });
});
