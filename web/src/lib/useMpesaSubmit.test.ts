import { describe, expect, it } from "vitest";
import type { PaymentSnapshot } from "./paymentPoller";
import { IDLE, mpesaSubmit, type MpesaSubmitState, type SendResult } from "./useMpesaSubmit";
import { fakeTime } from "./fakeTime";

/** The flow with a fake send and fake looks (answered in turn, the last one repeated); every state it went through. */
function setUp(send: (phone: string) => Promise<SendResult>, answers: (PaymentSnapshot | null)[] = []) {
  const time = fakeTime();
  let state: MpesaSubmitState = IDLE;
  const stages: string[] = [];
  const sent: string[] = [];
  const looked: (number | undefined)[] = [];
  const events: string[] = [];
  const flow = mpesaSubmit(() => ({
    send: (phone) => { sent.push(phone); return send(phone); },
    look: async (paymentId) => {
      looked.push(paymentId);
      return answers[Math.min(looked.length - 1, answers.length - 1)] ?? null;
    },
    onPaid: () => events.push("paid"),
    onFailed: () => events.push("failed"),
  }), (change) => {
    state = { ...state, ...change };
    if (change.stage) stages.push(change.stage);
  }, time);
  return { flow, time, state: () => state, stages, sent, looked, events };
}

const pending: PaymentSnapshot = { status: "pending" };
const paid: PaymentSnapshot = { status: "success", transactionCode: "QK12AB34CD", method: "mpesa" };

describe("mpesaSubmit", () => {
  it("sends nothing for a number that is not a Kenyan mobile one, and says so", async () => {
    const t = setUp(async () => ({}));
    await t.flow.submit("12345");
    expect(t.sent).toEqual([]);
    expect(t.state()).toEqual({ ...IDLE, touched: true });
  });

  it("sends the normalised number, then follows the payment it names until paid", async () => {
    const t = setUp(async () => ({ paymentId: 41 }), [null, pending, pending, paid]);
    await t.flow.submit("0712 345 678");
    expect(t.sent).toEqual(["254712345678"]);
    expect(t.state()).toMatchObject({ stage: "waiting", sentTo: "254712345678", error: null });
    await t.time.advance(20_000);
    expect(t.looked).toEqual([41, 41, 41, 41]);
    expect(t.stages).toEqual(["sending", "waiting", "success"]); // a pending look changes nothing
    expect(t.state().snapshot).toEqual(paid);
    expect(t.events).toEqual(["paid"]);
    expect(t.time.pending()).toBe(0); // settled: no more looks
  });

  it("a failed payment gives its reason and onFailed; a retry clears it", async () => {
    const failed: PaymentSnapshot = { status: "failed", reason: "Request cancelled by user" };
    const t = setUp(async () => ({}), [failed]);
    await t.flow.submit("+254 712 345 678");
    await t.time.advance(1000);
    expect(t.looked).toEqual([undefined]); // no payment named: the booking's latest
    expect(t.state()).toMatchObject({ stage: "failed", snapshot: failed });
    expect(t.events).toEqual(["failed"]);
    const retry = t.flow.submit("0712345678");
    expect(t.state()).toMatchObject({ stage: "sending", snapshot: null, error: null });
    await retry;
  });

  it("a refused prompt shows the error and the form again; so does no answer at all", async () => {
    const refused = { message: "Too many requests", status: 429 };
    const t = setUp(async () => ({ error: refused }));
    await t.flow.submit("0712345678");
    expect(t.state()).toMatchObject({ stage: "idle", error: refused, sentTo: null });
    expect(t.time.pending()).toBe(0);

    const offline = setUp(async () => { throw new TypeError("Failed to fetch"); });
    await offline.flow.submit("0712345678");
    expect(offline.state()).toMatchObject({ stage: "idle", error: { message: "", status: 0 } });
  });

  it("gives up waiting after about 150 s, and stop() ends the looks", async () => {
    const t = setUp(async () => ({ paymentId: 7 }), [pending]);
    await t.flow.submit("0712345678");
    await t.time.advance(145_000);
    expect(t.state().stage).toBe("waiting");
    await t.time.advance(10_000);
    expect(t.state().stage).toBe("timeout");
    expect(t.events).toEqual([]);

    const watched = setUp(async () => ({}), [pending]);
    watched.flow.watch();
    expect(watched.state().stage).toBe("waiting");
    watched.flow.stop();
    await watched.time.advance(10_000);
    expect(watched.looked).toEqual([]);
  });
});
