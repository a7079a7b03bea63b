import type { MessageKey } from "../i18n/messages";

// Why a refund is owed, as payments and billing write it (services/payments/src/payments/service/refunds_owed.py and
// refunds.py, services/billing/src/billing/ending.py, daily.py and service.py): fixed English phrases the console
// says in the reader's language. Any other reason is shown as the server gave it.
const FIXED: Readonly<Record<string, MessageKey>> = {
  "cancelled by an admin": "refundReason.cancelledByAdmin",
  "cancelled by the customer before the start": "refundReason.cancelledByCustomer",
  "money that matched no payment": "refundReason.unmatched",
  "credit left at the move-out": "refundReason.creditMoveOut",
  "credit left at the cancellation": "refundReason.creditCancellation",
  "paid to a rental that had ended": "refundReason.rentalEnded",
};
// The booking's own reason inside is booking's English sentence: shown as given.
const BOOKING_REFUSED = /^the booking could not take this payment \((.+)\)$/s;

/** A refund's reason in the reader's language (`t`), when it is one the console knows; else as written. */
export function sayRefundReason(reason: string, t: (key: MessageKey, vars?: Record<string, string>) => string): string {
  if (Object.hasOwn(FIXED, reason)) return t(FIXED[reason]!);
  const refused = reason.match(BOOKING_REFUSED);
  return refused ? t("refundReason.bookingRefused", { reason: refused[1] ?? "" }) : reason;
}
