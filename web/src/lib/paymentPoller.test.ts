import { describe, expect, it } from "vitest";
import { startPaymentPoller, type PaymentSnapshot } from "./paymentPoller";
import { fakeTime } from "./fakeTime";

function run(answers: (PaymentSnapshot | Error | null)[], timeoutMs = 60_000) {
  const time = fakeTime();
  const updates: PaymentSnapshot[] = [];
  const done: string[] = [];
  let calls = 0;
  const poller = startPaymentPoller({
    intervalMs: 1000, maxIntervalMs: 4000, timeoutMs,
    now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer,
    fetchStatus: async () => {
      const answer = answers[Math.min(calls, answers.length - 1)] ?? null;
      calls++;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    onUpdate: (s) => updates.push(s),
    onDone: (o) => done.push(o),
  });
  return { time, updates, done, poller, calls: () => calls };
}

describe("startPaymentPoller", () => {
  it("asks until the payment succeeds, then stops", async () => {
    const r = run([{ status: "pending" }, { status: "pending" }, { status: "success", transactionCode: "QK1" }]);
    await r.time.advance(20_000);
    expect(r.calls()).toBe(3);
    expect(r.updates.map((u) => u.status)).toEqual(["pending", "success"]);
    expect(r.updates[1]?.transactionCode).toBe("QK1");
    expect(r.done).toEqual(["settled"]);
    expect(r.time.pending()).toBe(0);
  });

  it("reports a failure with its reason", async () => {
    const r = run([{ status: "failed", reason: "The payment was cancelled by the user" }]);
    await r.time.advance(5_000);
    expect(r.updates).toEqual([{ status: "failed", reason: "The payment was cancelled by the user" }]);
    expect(r.done).toEqual(["settled"]);
  });

  it("keeps going through errors and not-yet-recorded payments", async () => {
    const r = run([new Error("502"), null, new Error("network"), { status: "success" }]);
    await r.time.advance(30_000);
    expect(r.updates.map((u) => u.status)).toEqual(["success"]);
    expect(r.done).toEqual(["settled"]);
  });

  it("gives up after the timeout", async () => {
    const r = run([{ status: "pending" }], 10_000);
    await r.time.advance(60_000);
    expect(r.done).toEqual(["timeout"]);
    expect(r.time.pending()).toBe(0);
    const calls = r.calls();
    await r.time.advance(60_000);
    expect(r.calls()).toBe(calls);
  });

  it("stops when asked and reports nothing after", async () => {
    const r = run([{ status: "pending" }, { status: "success" }]);
    await r.time.advance(1_000);
    r.poller.stop();
    await r.time.advance(30_000);
    expect(r.updates.map((u) => u.status)).toEqual(["pending"]);
    expect(r.done).toEqual(["stopped"]);
  });

  it("backs off, never beyond the longest interval", async () => {
    const r = run([{ status: "pending" }]);
    await r.time.advance(40_000);
    // 1 s, then growing by a quarter up to 4 s: far fewer calls than one a second.
    expect(r.calls()).toBeGreaterThan(8);
    expect(r.calls()).toBeLessThan(20);
  });
});
