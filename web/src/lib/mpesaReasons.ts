import type { Lang } from "./dates";

/**
 * Why M-PESA refused a payment, as payments says it (PaymentStatus.reason: services/payments/src/payments/
 * result_codes.py, in English), said in the reader's language. Imported by the payment forms only, so that it rides in
 * their chunks and not in the main one.
 */
const SW: Readonly<Record<string, string>> = {
  "Insufficient M-PESA balance": "Salio la M-PESA halitoshi",
  "The amount is below M-PESA's minimum": "Kiasi ni chini ya kiwango cha chini cha M-PESA",
  "The amount is above M-PESA's maximum": "Kiasi kinazidi kiwango cha juu cha M-PESA",
  "The payer's daily M-PESA limit was exceeded": "Kikomo cha kila siku cha M-PESA cha mlipaji kimepitwa",
  "The payer's M-PESA account balance limit was exceeded": "Kikomo cha salio la akaunti ya M-PESA ya mlipaji kimepitwa",
  "The same amount was sent to the same customer within 2 minutes":
    "Kiasi hicho hicho kilitumwa kwa mteja yule yule ndani ya dakika 2",
  "Another M-PESA transaction is already in progress for this phone":
    "Muamala mwingine wa M-PESA tayari unaendelea kwenye simu hii",
  "The payment request expired": "Ombi la malipo limepitwa na muda",
  "The payment prompt could not be sent to the phone": "Ombi la malipo halikuweza kutumwa kwenye simu",
  "The payment was cancelled by the user": "Malipo yalighairiwa na mtumiaji",
  "The phone could not be reached": "Simu haikupatikana",
  "Wrong M-PESA PIN": "PIN ya M-PESA si sahihi",
  "The payment is not permitted for this till or paybill": "Malipo haya hayaruhusiwi kwa till au paybill hii",
  "The payer's M-PESA account is locked": "Akaunti ya M-PESA ya mlipaji imefungwa",
};

// Another code: payments names it, with Daraja's own words (English, shown as given) when it had some.
const OTHER = /^The payment failed \(M-PESA result (-?\d+)\)(?:: (.+))?$/s;

export function sayReason(reason: string, lang: Lang): string {
  if (lang !== "sw") return reason;
  const known = SW[reason];
  if (known !== undefined) return known;
  const other = reason.match(OTHER);
  if (!other) return reason;
  return `Malipo hayakufanikiwa (jibu la M-PESA ${other[1]})` + (other[2] ? `: ${other[2]}` : "");
}
