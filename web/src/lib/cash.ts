import { formatKES } from "./money";

// Cash at the desk: the operator types what a customer paid in notes and coins (POST /api/payments/cash). A retried
// submission must count once: it carries an Idempotency-Key, the same one when the first answer never came.

export const MAX_CASH_AMOUNT = 1_000_000;

/** Whole shillings as an operator types them ("4500", "4,500", "4 500", "KES 4,500"), 1 to 1,000,000; null for
 *  anything else (cents, a sign, letters, badly grouped digits). */
export function parseCashAmount(typed: string): number | null {
  return wholeShillings(typed, 1, MAX_CASH_AMOUNT);
}

function wholeShillings(typed: string, least: number, most: number): number | null {
  const digits = typed.trim().replace(/^KES\s*/i, "");
  if (!/^(\d+|\d{1,3}([, ]\d{3})+)$/.test(digits)) return null;
  const amount = Number(digits.replace(/[, ]/g, ""));
  return amount >= least && amount <= most ? amount : null;
}

/** The body POSTed: the account as typed (payments reads it loosely, as for the Paybill), trimmed. */
export interface CashEntry {
  account: string;
  amount: number;
  note: string | null;
}

export function cashEntry(account: string, amount: number, note: string): CashEntry {
  return { account: account.trim(), amount, note: note.trim() || null };
}

/** A form's body with the Idempotency-Key it was sent with (cash taken, or a cash movement). */
export interface CashSubmission<E extends object = CashEntry> {
  key: string;
  entry: E;
}

/** A fresh Idempotency-Key (randomUUID is missing outside a secure context, getRandomValues is not). */
export function freshKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What to send: the submission whose answer was lost when the operator sends the same entry again (its key, so
 *  payments records the money once), otherwise the entry with a fresh key. */
export function cashSubmission<E extends object>(lost: CashSubmission<E> | null, entry: E,
  newKey: () => string = freshKey): CashSubmission<E> {
  return lost !== null && sameEntry(lost.entry, entry) ? lost : { key: newKey(), entry };
}

function sameEntry(a: object, b: object): boolean {
  const other = b as Record<string, unknown>;
  return Object.keys(a).length === Object.keys(b).length
    && Object.entries(a).every(([field, value]) => other[field] === value);
}

/** No answer came back, so the money may have been recorded: a network error (status 0), or the gateway's 502/504
 *  for a service that may have done it. Any other answer is payments' own: a new submission gets a new key. */
export function answerLost(status: number): boolean {
  return status === 0 || status === 502 || status === 504;
}

/** The account a recorded payment paid, as the receipt line names it: the invoice number as typed when it paid an
 *  invoice (its booking_id is then the rental's booking), otherwise JESH-<booking>. */
export function paidAccount(payment: { booking_id: number; invoice_id: number | null }, typed: string): string {
  return payment.invoice_id === null ? `JESH-${payment.booking_id}` : typed.trim().toUpperCase();
}

// Counting the drawer at the end of the day (POST /api/payments/cash/counts): payments keeps what was counted beside
// what the cash book said the drawer should hold then (expected) and the difference, counted - expected.

export const MAX_COUNTED = 100_000_000;

/** What an operator counted, typed like a cash amount; an empty drawer (0) is a count too. */
export function parseCountedAmount(typed: string): number | null {
  return wholeShillings(typed, 0, MAX_COUNTED);
}

export type CountOutcome = "short" | "over" | "matches";

export interface CountReading {
  outcome: CountOutcome;
  /** How far off, in shillings (0 when it matches). */
  by: number;
  /** Cash moved after the count (taken, handed back, banked, float): the book's closing is no longer what the count
   * was held against. */
  bookChanged: boolean;
}

/** A count as the console words it, against what the book now says the drawer should hold (its closing). */
export function readCount(count: { difference: number; expected: number }, closing: number): CountReading {
  const outcome = count.difference < 0 ? "short" : count.difference > 0 ? "over" : "matches";
  return { outcome, by: Math.abs(count.difference), bookChanged: count.expected !== closing };
}

// The drawer's balance from one day to the next (POST /api/payments/cash/movements): cash banked out of it, or float
// put into it. The book's closing is opening + net - banked + float; payments computes it, the console shows its parts.

export const MAX_MOVEMENT = 100_000_000;

export type MovementKind = "banked" | "float";

/** What an operator banked or put in, typed like a cash amount, 1 to 100,000,000. */
export function parseMovementAmount(typed: string): number | null {
  return wholeShillings(typed, 1, MAX_MOVEMENT);
}

export interface MovementEntry {
  kind: MovementKind;
  amount: number;
  reference: string | null;
  note: string | null;
}

/** The body POSTed: reference (the deposit slip) and note trimmed, blank is none. */
export function movementEntry(kind: MovementKind, amount: number, reference: string, note: string): MovementEntry {
  return { kind, amount, reference: reference.trim() || null, note: note.trim() || null };
}

/** What a movement does to the drawer: banking takes cash out of it, float puts cash in. A reversal's amount is below
 *  0 (the movement it undoes, the other way), so a banking reversed puts the cash back and a float reversed takes it
 *  out again; the day's totals, net of reversals, read the same way. Nothing is 0, never -0. */
export function drawerChange(kind: MovementKind, amount: number): number {
  const change = kind === "banked" ? -amount : amount;
  return change === 0 ? 0 : change;
}

/** A change to the drawer with its sign, "+KES 2,000" or "-KES 5,000" (nothing is "KES 0"). */
export function signedKES(change: number): string {
  return change > 0 ? `+${formatKES(change)}` : formatKES(change);
}

// A movement recorded by mistake is never edited (POST /api/payments/cash/movements/{id}/reversal {reason}): its
// reversal, the same kind and the opposite amount with the reason as its note, undoes it in today's book.

export const REASON_MIN = 3;
export const REASON_MAX = 200;

/** The reason as sent: trimmed, 3 to 200 characters; null for anything shorter (blank) or longer. */
export function reversalReason(typed: string): string | null {
  const reason = typed.trim();
  return reason.length >= REASON_MIN && reason.length <= REASON_MAX ? reason : null;
}

/** Where a movement of the book stands: a reversal (of `reverses`), reversed (by `reversed_by`), or neither, which
 *  the operator may reverse. */
export type MovementStanding =
  | { is: "reversal"; of: number }
  | { is: "reversed"; by: number }
  | { is: "standing" };

export function movementStanding(movement: { reverses: number | null; reversed_by: number | null }): MovementStanding {
  if (movement.reverses !== null) return { is: "reversal", of: movement.reverses };
  if (movement.reversed_by !== null) return { is: "reversed", by: movement.reversed_by };
  return { is: "standing" };
}
