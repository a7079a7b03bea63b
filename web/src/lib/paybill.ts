// The Paybill (M-PESA C2B): customers pay from their phone's menu (Lipa na M-PESA → Paybill) with an account number
// that names what they pay. The business number is payments' (GET /api/payments/paybill), read once per page load.
import { useEffect, useState } from "react";
import { publicApi } from "../api/client";

/** What is being paid: a pending booking (its price exactly) or an open invoice (any amount: its balance shown). */
export type PaybillTarget = { booking: number } | { invoice: string };

/** The account number to type for it, the one payments reads: `JESH-<booking id>` or the invoice's number as billing
 *  prints it (`INV-000123`). */
export function paybillAccount(target: PaybillTarget): string {
  return "booking" in target ? `JESH-${target.booking}` : target.invoice.trim().toUpperCase();
}

/** The business number when the Paybill is on and names one (5 to 7 digits, as M-PESA's are), otherwise null. */
export function paybillNumber(info: { enabled: boolean; business_number: string | null } | null | undefined): string | null {
  const number = info?.enabled ? info.business_number?.trim() ?? "" : "";
  return /^\d{5,7}$/.test(number) ? number : null;
}

let asked: Promise<string | null> | null = null;
let known: string | null = null;

/** Asked once per page load; null when the Paybill is off or payments cannot say (the page then leaves it out). */
function loadPaybill(): Promise<string | null> {
  asked ??= publicApi.GET("/api/payments/paybill").then(
    ({ data }) => (known = paybillNumber(data?.data)),
    () => null,
  );
  return asked;
}

/** The Paybill's business number, or null while it loads, when it is off or when it could not be read. */
export function usePaybill(): string | null {
  const [number, setNumber] = useState(known);
  useEffect(() => {
    let mounted = true;
    void loadPaybill().then((n) => {
      if (mounted) setNumber(n);
    });
    return () => {
      mounted = false;
    };
  }, []);
  return number;
}

/** What the last pull of Pull Transactions came to: `pending` before the first (a registration sets `pulled_until`
 *  47 hours before it and only a pull that listed everything moves it past), `failed` when the last one failed,
 *  `none` or `found` when it listed the payments and took none or some whose confirmation never came. */
export type PullOutcome = "pending" | "failed" | "none" | "found";

export function pullOutcome(pull: {
  pulled_until: string; registered_at: string; last_found: number; last_error: string | null;
}): PullOutcome {
  if (pull.last_error) return "failed";
  if (pull.last_found > 0) return "found";
  return Date.parse(pull.pulled_until) < Date.parse(pull.registered_at) ? "pending" : "none";
}
