// Money waiting for a person (GET /api/payments/admin/attention): the "Needs you" summary at the top of the console's
// Money page, and the count on its tab. Pure: which lines show, in which order, in which words, where each is handled.
import type { paymentsSchemas } from "../api/client";
import type { MessageKey } from "../i18n/messages";

export type MoneyWaiting = paymentsSchemas["MoneyWaiting"];
export type WaitingKind = MoneyWaiting["what"];

/** Where the Money page handles a kind: the id of its section, and for refunds the status its list is filtered by. */
export interface Handled {
  section: "unmatched" | "refunds" | "paybill";
  refunds?: "required" | "approved" | "paying" | "failed";
}

interface Kind {
  what: WaitingKind;
  label: MessageKey;
  handled: Handled | null;
  /** An operator must act on it (not merely wait for M-PESA or Pesapal): counted on the Money tab. */
  action: boolean;
  /** Another list of the Money page that shows it too (unmatched money that came to the Paybill is in its list). */
  alsoListedIn?: Handled["section"];
}

// The server's order (payments.service.attention.WHAT), kept here too: the summary reads the same whatever the order
// of the answer. A payment whose outcome is unknown is requeried from its booking: no section of the Money page.
const KINDS: readonly Kind[] = [
  { what: "unmatched", label: "attention.unmatched", handled: { section: "unmatched" }, action: true, alsoListedIn: "paybill" },
  { what: "payments_unknown", label: "attention.paymentsUnknown", handled: null, action: true },
  { what: "refunds_required", label: "attention.refundsRequired", handled: { section: "refunds", refunds: "required" }, action: true },
  { what: "refunds_approved", label: "attention.refundsApproved", handled: { section: "refunds", refunds: "approved" }, action: false },
  { what: "refunds_paying", label: "attention.refundsPaying", handled: { section: "refunds", refunds: "paying" }, action: false },
  { what: "refunds_failed", label: "attention.refundsFailed", handled: { section: "refunds", refunds: "failed" }, action: true },
  { what: "paybill_unverified", label: "attention.paybillUnverified", handled: { section: "paybill" }, action: false },
];

export interface AttentionLine {
  what: WaitingKind;
  label: MessageKey;
  count: number;
  kes: number;
  oldestAt: string | null;
  handled: Handled | null;
}

/** One line per kind with something waiting, in the fixed order; a kind the console does not know is left out. */
export function attentionLines(waiting: readonly MoneyWaiting[] | null | undefined): AttentionLine[] {
  const lines: AttentionLine[] = [];
  for (const kind of KINDS) {
    const w = waiting?.find((x) => x.what === kind.what);
    if (!w || w.count <= 0) continue;
    lines.push({ what: kind.what, label: kind.label, count: w.count, kes: w.kes, oldestAt: w.oldest_at, handled: kind.handled });
  }
  return lines;
}

/** How many wait for an operator's action (unmatched money, unknown outcomes, refunds to approve or that failed):
 *  the Money tab's count. Refunds approved or paying and unverified Paybill payments wait for the provider. */
export function needingAction(waiting: readonly MoneyWaiting[] | null | undefined): number {
  const action = new Set(KINDS.filter((k) => k.action).map((k) => k.what));
  return (waiting ?? []).reduce((n, w) => n + (action.has(w.what) && w.count > 0 ? w.count : 0), 0);
}

/** The link of a line: the section's anchor, with the refunds list filtered to the line's status. */
export function handledHref(handled: Handled): string {
  return handled.refunds ? `?refunds=${handled.refunds}#${handled.section}` : `#${handled.section}`;
}

/** The Money page's lists to read again when the figures moved from one read to the next (a kind's count or
 *  shillings), so that a list never contradicts "Needs you" above it. Nothing before the first read: the page reads
 *  its lists when it opens. */
export function listsToReadAgain(before: readonly MoneyWaiting[] | null | undefined,
  after: readonly MoneyWaiting[]): Handled["section"][] {
  if (!before) return [];
  const figures = (waiting: readonly MoneyWaiting[], what: WaitingKind) => {
    const w = waiting.find((x) => x.what === what);
    return w && w.count > 0 ? `${w.count}/${w.kes}` : "";
  };
  const lists = new Set<Handled["section"]>();
  for (const kind of KINDS) {
    if (figures(before, kind.what) === figures(after, kind.what)) continue;
    for (const list of [kind.handled?.section, kind.alsoListedIn]) if (list) lists.add(list);
  }
  return [...lists].sort();
}
