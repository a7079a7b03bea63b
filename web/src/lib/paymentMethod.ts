// Customers pay by M-PESA or on Pesapal's page (a card or Airtel Money: the payment's method is "card"); a receipt,
// a refund or a confirmation names the way this payment went, never M-PESA for all of them.

export type PaidWith = "mpesa" | "card" | "other";

/** The wording to use for a payment's (or a refund's) `method`: M-PESA, Pesapal, or neutral words for any other. */
export function paidWith(method: string | null | undefined): PaidWith {
  return method === "mpesa" || method === "card" ? method : "other";
}
