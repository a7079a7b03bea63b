import type { MessageKey } from "../i18n/messages";
import { formatKES } from "./money";

/** A server's sentence the UI can say in the reader's language: its message key and the values it carried. */
export interface KnownMessage {
  key: MessageKey;
  params?: Record<string, string>;
  /** Values that are words the UI has in every language (a status): said as those instead (sayKnown). */
  words?: Record<string, MessageKey>;
}

/** A status word as a server spells it -> the UI's own word for it. */
type Words = Readonly<Record<string, MessageKey>>;

interface ServerMessage {
  /** The server's exact sentence, or a pattern (anchored) whose groups are the values it carries. */
  said: string | RegExp;
  key: MessageKey;
  params?: (m: RegExpMatchArray) => Record<string, string>;
  /** For a value that is a word the UI knows (its params name): the UI's words. Any other word is shown as given. */
  words?: Record<string, Words>;
}

// A Paybill payment's status (payments' PaybillPayment.status) and a refund's (Refund.status), as the console's
// badges name them.
const PAYBILL_STATUS: Words = {
  received: "status.received", verified: "status.verified", applied: "status.applied", unmatched: "status.unmatched",
  rejected: "status.rejected",
};
const REFUND_STATUS: Words = {
  required: "refund.required", approved: "refund.approved", paying: "refund.paying", paid: "refund.paid",
  failed: "refund.failed",
};

const group = (m: RegExpMatchArray, i: number): string => m[i] ?? "";
// A Python repr of a string: '...', or "..." when it holds a single quote.
const REPR = `('.*'|".*")`;

/** How payments starts every reason an account cannot take money (the cash desk's and the Paybill's refusals). */
export const CANNOT_TAKE = "That account cannot take this money: ";
// One of those refusals, by its reason (a pattern's source) whose first group is the account.
const cannotTake = (reason: string, key: MessageKey): ServerMessage =>
  ({ said: new RegExp(`^${CANNOT_TAKE}${reason}$`), key, params: (m) => ({ account: group(m, 1) }) });

// The first that matches wins: a specific sentence comes before a wider pattern with the same start.
const SERVER_MESSAGES: ServerMessage[] = [
  { said: "Invalid credentials", key: "err.invalidCredentials" },
  { said: "Email already registered", key: "err.emailTaken" },
  { said: "Unit not available", key: "err.unitNotAvailable" },
  { said: "Current password is incorrect", key: "err.wrongCurrentPassword" },
  { said: "This password reset link is invalid or has expired", key: "err.resetLinkInvalid" },
  { said: "Too many failed login attempts, please try again later", key: "err.tooManyAttempts" },
  { said: "Too many requests, please slow down", key: "err.tooManyRequests" },
  { said: "The password was changed meanwhile; please try again", key: "err.passwordChangedMeanwhile" },
  { said: "User not found", key: "err.userNotFound" },
  { said: "You cannot change your own role", key: "err.ownRole" },
  { said: "This account is closed; please contact Jesh Storage", key: "err.accountClosed" },
  { said: "You cannot close your own account", key: "err.ownClose" },
  { said: "You cannot erase your own account", key: "err.ownErase" },
  { said: "Close the account before erasing its personal data", key: "err.eraseNotClosed" },
  { said: "An operator's account is not erased: make them a customer first", key: "err.eraseAdmin" },
  { said: "An operator's account is not erased: ask another operator to make you a customer first",
    key: "err.eraseOwnAdmin" },
  { said: "The customer's personal data cannot be erased yet", key: "err.eraseHeld" },
  { said: "This account's personal data was erased", key: "err.erased" },
  { said: "Session ended; please log in again", key: "err.sessionEnded" },
  // Payments' refusals on the console's Money pages (services/payments/src/payments/service/).
  { said: /^Cannot bank more than the drawer should hold \(KES (-?[\d,]+)\)$/, key: "err.drawerBank",
    params: (m) => ({ amount: group(m, 1) }) },
  { said: /^Cannot hand back more than the drawer should hold \(KES (-?[\d,]+)\)$/, key: "err.drawerHandBack",
    params: (m) => ({ amount: group(m, 1) }) },
  { said: /^Cannot take back more than the drawer should hold \(KES (-?[\d,]+)\)$/, key: "err.drawerTakeBack",
    params: (m) => ({ amount: group(m, 1) }) },
  { said: "That Idempotency-Key was used for another cash movement", key: "err.cashMovementKeyUsed" },
  { said: "A drawer cannot be counted for a day to come", key: "err.countDayToCome" },
  { said: "Cash movement not found", key: "err.cashMovementNotFound" },
  { said: "A reversal cannot be reversed: record the movement again", key: "err.reversalNotReversed" },
  cannotTake(String.raw`booking (\S+) was cancelled; book again`, "err.bookingCancelled"),
  // Payments' own reasons (paybill.resolve: the cash desk's and the Paybill's), each in the reader's language.
  { said: new RegExp(`^${CANNOT_TAKE}booking (\\S+) costs KES (\\d+), KES (\\d+) was paid$`),
    key: "err.bookingCosts",
    params: (m) => ({
      account: group(m, 1), price: formatKES(Number(group(m, 2))), paid: formatKES(Number(group(m, 3))),
    }) },
  cannotTake(String.raw`there is no booking (\S+)`, "err.noSuchBooking"),
  cannotTake(String.raw`there is no invoice (\S+)`, "err.noSuchInvoice"),
  cannotTake(String.raw`invoice (\S+) was cancelled`, "err.invoiceCancelled"),
  cannotTake(`the account number ${REPR} names no booking or invoice`, "err.accountNamesNothing"),
  cannotTake(String.raw`booking (\S+) is paid already`, "err.bookingPaidAlready"),
  // Any other reason (one added since): only the fixed start is translated and the reason is shown as the server
  // gave it.
  { said: new RegExp(`^${CANNOT_TAKE}(.+)$`), key: "err.accountCannotTake", params: (m) => ({ reason: group(m, 1) }) },
  { said: /^An M-PESA or card payment of booking (\S+) is still under way: wait for it before taking cash$/,
    key: "err.paymentUnderWay", params: (m) => ({ account: group(m, 1) }) },
  { said: "That Idempotency-Key was used for another cash payment", key: "err.cashPaymentKeyUsed" },
  { said: new RegExp(`^The account number ${REPR} names no booking or invoice$`), key: "err.accountNamesNothing",
    params: (m) => ({ account: group(m, 1) }) },
  { said: "This money already has a refund", key: "err.refundExists" },
  { said: "This money was assigned to an account", key: "err.moneyAssigned" },
  { said: "This money was applied to its payment", key: "err.moneyApplied" },
  { said: "This money has no phone number to pay back", key: "err.moneyNoPhone" },
  { said: "This refund has no phone number to pay", key: "err.refundNoPhone" },
  { said: "This money was already assigned or refunded", key: "err.moneyAssignedOrRefunded" },
  { said: "Only money paid to the Paybill can be assigned to an account", key: "err.onlyPaybillAssigned" },
  { said: /^That receipt is known already \((\w+)\)$/, key: "err.receiptKnown",
    params: (m) => ({ status: group(m, 1) }), words: { status: PAYBILL_STATUS } },
  { said: /^Refund is (\w+), not awaiting approval$/, key: "err.refundNotAwaiting",
    params: (m) => ({ status: group(m, 1) }), words: { status: REFUND_STATUS } },
];

/** The message key (and values) of a server's sentence the UI knows; null for any other sentence. */
export function knownMessage(message: string): KnownMessage | null {
  for (const { said, key, params, words } of SERVER_MESSAGES) {
    if (typeof said === "string") {
      if (said === message) return { key };
      continue;
    }
    const m = message.match(said);
    if (!m) continue;
    if (!params) return { key };
    const values = params(m);
    const known: Record<string, MessageKey> = {};
    for (const [name, table] of Object.entries(words ?? {})) {
      const value = values[name];
      const word = value !== undefined && Object.hasOwn(table, value) ? table[value] : undefined;
      if (word !== undefined) known[name] = word;
    }
    return Object.keys(known).length > 0 ? { key, params: values, words: known } : { key, params: values };
  }
  return null;
}

/** A known message in the reader's language (`t`): its words said as the UI says them, in lower case inside the
 *  sentence ("Paying" -> "paying"), the other values as the server gave them. */
export function sayKnown(known: KnownMessage, t: (key: MessageKey, vars?: Record<string, string>) => string): string {
  const words = Object.entries(known.words ?? {}).map(([name, key]) => {
    const word = t(key);
    return [name, word.charAt(0).toLowerCase() + word.slice(1)] as const;
  });
  return t(known.key, { ...known.params, ...Object.fromEntries(words) });
}
