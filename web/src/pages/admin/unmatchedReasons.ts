import type { MessageKey } from "../../i18n/messages";
import { sayRefundReason } from "../../lib/refundReasons";
import { CANNOT_TAKE, knownMessage, sayKnown } from "../../lib/serverMessages";

type Say = (key: MessageKey, vars?: Record<string, string>) => string;

// Why money matched no payment, as payments writes it (services/payments/src/payments/service/callbacks.py, card.py,
// paybill.py and refunds_owed.py): said in the reader's language. Any other reason is shown as the server gave it.
const NO_PUSH = "no payment has this CheckoutRequestID";
const NO_CARD_ORDER = /^no payment has this Pesapal order \(merchant reference (.*)\)$/s;
// A Paybill payment's account (Python's repr of what the payer typed) and why it cannot take the money: the same
// reasons the cash desk is refused with (lib/serverMessages.ts).
const PAYBILL_ACCOUNT = /^Paybill account ('.*'|".*"): (.+)$/s;

/** An unmatched money's reason in the reader's language (`t`), when it is one the console knows; else as written. */
export function sayUnmatchedReason(reason: string, t: Say): string {
  if (reason === NO_PUSH) return t("unmatchedReason.noPush");
  const order = reason.match(NO_CARD_ORDER);
  if (order) return t("unmatchedReason.noCardOrder", { reference: order[1] ?? "" });
  const paybill = reason.match(PAYBILL_ACCOUNT);
  if (paybill) {
    const known = knownMessage(`${CANNOT_TAKE}${paybill[2] ?? ""}`);
    return t("unmatchedReason.paybillAccount", { account: paybill[1] ?? "", reason: known ? sayKnown(known, t) : paybill[2] ?? "" });
  }
  return sayRefundReason(reason, t); // the booking could not take the payment: the refund's own reason
}
