// Test helper: a fake clock for code that takes `now`, `setTimer` and `clearTimer` (the payment poller): its timers run
// when the test advances time, each followed by a turn of the event loop so that an async step can settle.
export function fakeTime() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 1;
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => { const id = next++; timers.push({ at: now + ms, fn, id }); return id; },
    clearTimer: (id: unknown) => { timers = timers.filter((t) => t.id !== id); },
    async advance(ms: number) {
      const until = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const due = timers[0];
        if (!due || due.at > until) break;
        timers.shift();
        now = due.at;
        due.fn();
        await new Promise((r) => setTimeout(r, 0));
      }
      now = until;
    },
    pending: () => timers.length,
  };
}
