// Sending an M-PESA prompt and following its payment, as the customer's pay panel and the operator's prompt both do:
// check the phone, clear the last attempt, send, then watch the payment's status until it is paid, failed or late.
import { useEffect, useRef, useState, type FormEvent } from "react";
import type { ApiError } from "../api/client";
import { startPaymentPoller, type PaymentSnapshot, type PollOptions, type Poller } from "./paymentPoller";
import { normalizeKenyanPhone } from "./phone";

export type MpesaStage = "idle" | "sending" | "waiting" | "success" | "failed" | "timeout";

export interface MpesaSubmitState {
  stage: MpesaStage;
  /** The settled payment (its receipt, or why it failed); null until then. */
  snapshot: PaymentSnapshot | null;
  /** Why the prompt could not be sent (status 0: no answer at all). */
  error: ApiError | null;
  /** The number the last prompt went to (254…); null before one went. */
  sentTo: string | null;
  /** A submit was tried: the phone field may say what is wrong with it. */
  touched: boolean;
}

export const IDLE: MpesaSubmitState = { stage: "idle", snapshot: null, error: null, sentTo: null, touched: false };

/** What sending answered: refused (the error to show), or sent, with the payment to follow when the answer names it
 *  (without one, the booking's latest payment is followed). */
export type SendResult = { error: ApiError } | { paymentId?: number };

export interface MpesaSubmitOptions {
  /** Sends the STK Push to the normalised number. */
  send: (phone: string) => Promise<SendResult>;
  /** One look at the payment's status, for the poller. */
  look: (paymentId?: number) => Promise<PaymentSnapshot | null>;
  onPaid: () => void;
  onFailed?: () => void;
}

export interface MpesaSubmit {
  /** Send a prompt to the number typed (nothing is sent, only `touched`, when it is not a Kenyan mobile number). */
  submit: (typed: string) => Promise<void>;
  /** Follow a payment already under way (or the one just sent). */
  watch: (paymentId?: number) => void;
  stop: () => void;
}

/** The submit-and-watch steps without React: `update` receives each change of state. `timers` lets tests drive time. */
export function mpesaSubmit(
  options: () => MpesaSubmitOptions,
  update: (change: Partial<MpesaSubmitState>) => void,
  timers: Pick<PollOptions, "now" | "setTimer" | "clearTimer"> = {},
): MpesaSubmit {
  let poller: Poller | null = null;

  const watch = (paymentId?: number) => {
    poller?.stop();
    update({ stage: "waiting" });
    poller = startPaymentPoller({
      intervalMs: 1000,
      maxIntervalMs: 4000,
      timeoutMs: 150_000,
      ...timers,
      fetchStatus: () => options().look(paymentId),
      onUpdate: (s) => {
        if (s.status === "pending") return;
        update({ snapshot: s, stage: s.status });
        if (s.status === "success") options().onPaid();
        else options().onFailed?.();
      },
      onDone: (outcome) => {
        if (outcome === "timeout") update({ stage: "timeout" });
      },
    });
  };

  const submit = async (typed: string) => {
    update({ touched: true });
    const phone = normalizeKenyanPhone(typed);
    if (!phone) return;
    update({ error: null, snapshot: null, stage: "sending" });
    try {
      const sent = await options().send(phone);
      if ("error" in sent) {
        update({ error: sent.error, stage: "idle" });
        return;
      }
      update({ sentTo: phone });
      watch(sent.paymentId);
    } catch {
      update({ error: { message: "", status: 0 }, stage: "idle" });
    }
  };

  return { submit, watch, stop: () => poller?.stop() };
}

/** `mpesaSubmit` for a form: its state, the phone typed normalised, and the form's submit handler. The poller stops
 *  when the component goes. */
export function useMpesaSubmit(phone: string, options: MpesaSubmitOptions) {
  const [state, setState] = useState<MpesaSubmitState>(IDLE);
  const latest = useRef(options);
  latest.current = options;
  const flow = useRef<MpesaSubmit | null>(null);
  flow.current ??= mpesaSubmit(() => latest.current, (change) => setState((s) => ({ ...s, ...change })));
  const { submit, watch, stop } = flow.current;
  useEffect(() => stop, [stop]);

  const normalized = normalizeKenyanPhone(phone);
  return {
    ...state,
    normalized,
    /** The phone field's error to show: a submit was tried with a number that is not a Kenyan mobile one. */
    phoneInvalid: state.touched && !normalized,
    onSubmit: (e: FormEvent) => {
      e.preventDefault();
      void submit(phone);
    },
    watch,
    stop,
  };
}
