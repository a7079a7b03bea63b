// Customers pay by M-PESA, on Pesapal's page (a card or Airtel Money: the payment's method is "card") or in cash at
// the desk; a receipt, a refund or a confirmation names the way this payment went, never M-PESA for all of them.

export type PaidWith = "mpesa" | "card" | "cash" | "other";

/** The wording to use for a payment's (or a refund's) `method`: M-PESA, Pesapal, cash, or neutral words for any
 *  other. */
export function paidWith(method: string | null | undefined): PaidWith {
  return method === "mpesa" || method === "card" || method === "cash" ? method : "other";
}
