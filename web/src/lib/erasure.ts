// Erasing a closed customer's personal data (Kenya's Data Protection Act, s.40; auth's POST /api/auth/users/{id}/erase):
// when the console offers it, what the operator types to confirm, and the reasons auth gives for refusing it.
import type { ApiError } from "../api/client";
import type { Customer } from "./customerNames";

/** The word the operator types before the erase button is enabled (the same in every language: it is a command). */
export const ERASE_WORD = "ERASE";

/** What the console offers for erasure on an account's page: the action itself (a closed customer), a hint to close
 *  the account first (an open customer), or nothing (an operator, the viewer's own account, an erased one). */
export type EraseOffer = "erase" | "closeFirst" | null;

export function eraseOffer(
  account: Pick<Customer, "id" | "role" | "closed_at" | "erased_at">, viewerId: number | undefined,
): EraseOffer {
  if (account.erased_at || account.role !== "user" || account.id === viewerId) return null;
  return account.closed_at ? "erase" : "closeFirst";
}

/** The operator typed the word (spaces around it forgiven, nothing else). */
export function eraseConfirmed(typed: string): boolean {
  return typed.trim() === ERASE_WORD;
}

/** The kinds of record auth names when something still needs the personal data (an error's `field`). */
export const HOLD_KINDS = ["booking", "payment", "refund", "invoice", "transport"] as const;
export type HoldKind = (typeof HOLD_KINDS)[number];

export interface HoldReason {
  /** The kind of record, when it is one we know (else the reason is shown as auth wrote it). */
  kind: HoldKind | null;
  message: string;
}

/** Why auth refused to erase, one reason a line: a 409 with `errors` (anything else is an ordinary error). */
export function holdReasons(error: ApiError | null): HoldReason[] {
  if (!error || error.status !== 409 || !error.errors) return [];
  return error.errors.map((e) => ({
    kind: (HOLD_KINDS as readonly string[]).includes(e.field) ? (e.field as HoldKind) : null,
    message: e.message,
  }));
}

/** When the customer asked for their personal data to be erased (the portal's profile), while that is still to be
 *  done: the instant they asked, or null (never asked, withdrawn, or already erased: nothing left to do). */
export function erasureAskedAt(account: Pick<Customer, "erasure_requested_at" | "erased_at">): string | null {
  return account.erased_at ? null : account.erasure_requested_at;
}
