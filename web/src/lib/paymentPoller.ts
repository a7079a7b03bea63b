// Live status of an M-PESA payment: ask the server until the payment is settled (success or failed) or we give up.
// The customer approves the prompt on their phone; Daraja's callback (or the server's STK Push Query) settles it.

export type PaymentState = "pending" | "success" | "failed";

export interface PaymentSnapshot {
  status: PaymentState;
  reason?: string | null;
  transactionCode?: string | null;
  /** The payment's method (mpesa, card): the booking's latest payment may have been made on Pesapal's page. */
  method?: string;
}

export interface PollOptions {
  /** One look at the server; throwing counts as a transient error and is retried. */
  fetchStatus: () => Promise<PaymentSnapshot | null>;
  onUpdate: (snapshot: PaymentSnapshot) => void;
  /** Called once when polling stops: settled, timed out, or stopped by the caller. */
  onDone?: (outcome: "settled" | "timeout" | "stopped") => void;
  intervalMs?: number;
  /** Longest wait between tries after errors or while still pending (the interval grows gently). */
  maxIntervalMs?: number;
  timeoutMs?: number;
  /** Injectable clock and timers, so the tests can drive time. */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface Poller {
  stop: () => void;
}

export function normalizeStatus(raw: string): PaymentState {
  if (raw === "success" || raw === "failed") return raw;
  return "pending";
}

export function startPaymentPoller(options: PollOptions): Poller {
  const interval = options.intervalMs ?? 1500;
  const maxInterval = options.maxIntervalMs ?? 5000;
  const timeout = options.timeoutMs ?? 180_000;
  const now = options.now ?? (() => Date.now());
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  const started = now();
  let stopped = false;
  let handle: unknown = null;
  let delay = interval;
  let last: PaymentState | null = null;

  const finish = (outcome: "settled" | "timeout" | "stopped") => {
    if (stopped) return;
    stopped = true;
    if (handle !== null) clearTimer(handle);
    options.onDone?.(outcome);
  };

  const tick = async () => {
    handle = null;
    if (stopped) return;
    try {
      const snapshot = await options.fetchStatus();
      if (stopped) return;
      if (snapshot) {
        if (snapshot.status !== last || snapshot.status !== "pending") options.onUpdate(snapshot);
        last = snapshot.status;
        if (snapshot.status !== "pending") {
          finish("settled");
          return;
        }
      }
      delay = Math.min(maxInterval, Math.round(delay * 1.25));
    } catch {
      delay = Math.min(maxInterval, delay * 2);
    }
    if (stopped) return;
    if (now() - started >= timeout) {
      finish("timeout");
      return;
    }
    handle = setTimer(() => void tick(), delay);
  };

  handle = setTimer(() => void tick(), interval);
  return { stop: () => finish("stopped") };
}
