import { describe, expect, it } from "vitest";
import { knownMessage, sayKnown } from "./serverMessages";
import { translate } from "../i18n/i18n";
import type { MessageKey } from "../i18n/messages";
// The payments service's own source, the English the table must follow (Vite's ?raw: the web has no Node types).
import cashPy from "../../../services/payments/src/payments/service/cash.py?raw";
import drawerPy from "../../../services/payments/src/payments/service/drawer.py?raw";
import paybillPy from "../../../services/payments/src/payments/service/paybill.py?raw";
import paybillOpsPy from "../../../services/payments/src/payments/service/paybill_ops.py?raw";
import refundsPy from "../../../services/payments/src/payments/service/refunds.py?raw";

const SOURCES = {
  "cash.py": cashPy, "drawer.py": drawerPy, "paybill.py": paybillPy, "paybill_ops.py": paybillOpsPy, "refunds.py": refundsPy,
};
// The reasons paybill.resolve gives (after cash's and paybill_ops' "That account cannot take this money: ").
const REASON = 'f"That account cannot take this money: {target.reason}"';

interface Refusal {
  file: keyof typeof SOURCES;
  /** The refusal's string literals as the Python source spells them (an f-string cut over lines: its pieces). */
  literals: string[];
  /** A value for each {placeholder} of the literals, as the server would fill it in. */
  values?: Record<string, string>;
  /** Other code the message depends on (the act a caller names). */
  also?: [keyof typeof SOURCES, string][];
  key: MessageKey;
  params?: Record<string, string>;
  words?: Record<string, MessageKey>;
}

const REFUSALS: Refusal[] = [
  { file: "drawer.py", literals: ['f"Cannot {act} more than the drawer should hold (KES {holds:,})"'],
    values: { act: "bank", "holds:,": "5,500" }, also: [["drawer.py", '_refuse_more_than_held(session, amount, "bank")']],
    key: "err.drawerBank", params: { amount: "5,500" } },
  { file: "drawer.py", literals: ['f"Cannot {act} more than the drawer should hold (KES {holds:,})"'],
    values: { act: "hand back", "holds:,": "12,000" },
    also: [["refunds.py", 'check_drawer_holds(session, refund.amount, "hand back")']],
    key: "err.drawerHandBack", params: { amount: "12,000" } },
  { file: "drawer.py", literals: ['f"Cannot {act} more than the drawer should hold (KES {holds:,})"'],
    values: { act: "take back", "holds:,": "1,100" },
    also: [["drawer.py", '_refuse_more_than_held(session, original.amount, "take back")']],
    key: "err.drawerTakeBack", params: { amount: "1,100" } },
  { file: "drawer.py", literals: ['"That Idempotency-Key was used for another cash movement"'], key: "err.cashMovementKeyUsed" },
  { file: "drawer.py", literals: ['"A drawer cannot be counted for a day to come"'], key: "err.countDayToCome" },
  { file: "drawer.py", literals: ['raise NotFound("Cash movement not found")'], key: "err.cashMovementNotFound" },
  { file: "drawer.py", literals: ['"A reversal cannot be reversed: record the movement again"'], key: "err.reversalNotReversed" },
  { file: "cash.py", literals: ['f"That account cannot take this money: booking {target.account} was cancelled; book again"'],
    values: { "target.account": "JESH-1042" }, key: "err.bookingCancelled", params: { account: "JESH-1042" } },
  { file: "cash.py", literals: ['f"That account cannot take this money: booking {target.account} is paid already"'],
    values: { "target.account": "JESH-1043" }, key: "err.bookingPaidAlready", params: { account: "JESH-1043" } },
  { file: "cash.py", literals: [REASON], values: { "target.reason": "booking JESH-7 costs KES 5500, KES 500 was paid" },
    also: [["paybill.py", 'f"booking {account} costs KES {booking.total_price}, KES {amount} was paid"']],
    key: "err.bookingCosts", params: { account: "JESH-7", price: "KES 5,500", paid: "KES 500" } },
  { file: "paybill_ops.py", literals: [REASON], values: { "target.reason": "there is no booking JESH-9" },
    also: [["paybill.py", 'f"there is no booking {account}"']], key: "err.noSuchBooking", params: { account: "JESH-9" } },
  { file: "cash.py", literals: [REASON], values: { "target.reason": "there is no invoice INV-000123" },
    also: [["paybill.py", 'f"there is no invoice {account}"']], key: "err.noSuchInvoice",
    params: { account: "INV-000123" } },
  { file: "cash.py", literals: [REASON], values: { "target.reason": "invoice INV-000124 was cancelled" },
    also: [["paybill.py", 'f"invoice {invoice.number or account} was cancelled"']], key: "err.invoiceCancelled",
    params: { account: "INV-000124" } },
  { file: "cash.py", literals: [REASON], values: { "target.reason": "the account number 'JESH 1O42' names no booking or invoice" },
    also: [["paybill.py", 'f"the account number {typed[:40]!r} names no booking or invoice"']],
    key: "err.accountNamesNothing", params: { account: "'JESH 1O42'" } },
  { file: "cash.py", literals: [REASON], values: { "target.reason": "booking JESH-8 is paid already" },
    also: [["paybill.py", 'f"booking {account} is paid already"']], key: "err.bookingPaidAlready",
    params: { account: "JESH-8" } },
  { file: "cash.py", literals: [REASON], values: { "target.reason": "a reason added since" },
    key: "err.accountCannotTake", params: { reason: "a reason added since" } },
  { file: "cash.py",
    literals: ['f"An M-PESA or card payment of booking {target.account} is still under way: wait for it "',
      '"before taking cash"'],
    values: { "target.account": "JESH-88" }, key: "err.paymentUnderWay", params: { account: "JESH-88" } },
  { file: "cash.py", literals: ['"That Idempotency-Key was used for another cash payment"'], key: "err.cashPaymentKeyUsed" },
  { file: "paybill_ops.py", literals: ['f"The account number {typed[:40]!r} names no booking or invoice"'],
    values: { "typed[:40]!r": "'JESH 1O42'" }, key: "err.accountNamesNothing", params: { account: "'JESH 1O42'" } },
  { file: "paybill_ops.py", literals: ['f"The account number {typed[:40]!r} names no booking or invoice"'],
    values: { "typed[:40]!r": `"Mama's"` }, key: "err.accountNamesNothing", params: { account: `"Mama's"` } },
  { file: "refunds.py", literals: ['"This money already has a refund"'], key: "err.refundExists" },
  { file: "refunds.py", literals: ['"This money was assigned to an account"'], key: "err.moneyAssigned" },
  { file: "refunds.py", literals: ['"This money was applied to its payment"'], key: "err.moneyApplied" },
  { file: "refunds.py", literals: ['"This money has no phone number to pay back"'], key: "err.moneyNoPhone" },
  { file: "refunds.py", literals: ['"This refund has no phone number to pay"'], key: "err.refundNoPhone" },
  { file: "paybill_ops.py", literals: ['"This money was already assigned or refunded"'], key: "err.moneyAssignedOrRefunded" },
  { file: "paybill_ops.py", literals: ['"Only money paid to the Paybill can be assigned to an account"'],
    key: "err.onlyPaybillAssigned" },
  { file: "paybill_ops.py", literals: ['f"That receipt is known already ({known})"'], values: { known: "applied" },
    key: "err.receiptKnown", params: { status: "applied" }, words: { status: "status.applied" } },
  { file: "refunds.py", literals: ['f"Refund is {refund.status}, not awaiting approval"'], values: { "refund.status": "paying" },
    key: "err.refundNotAwaiting", params: { status: "paying" }, words: { status: "refund.paying" } },
];

/** The sentence the server sends: the literals' text joined, each {placeholder} filled in. */
function said({ literals, values = {} }: Refusal): string {
  return literals.map((literal) => literal.replace(/^(?:raise \w+\()?f?"(.*)"\)?$/, "$1")).join("").replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for {${name}}`);
    return value;
  });
}

describe("knownMessage", () => {
  it.each(REFUSALS.map((r) => [said(r), r] as const))("%s", (message, { key, params, words }) => {
    expect(knownMessage(message)).toEqual({ key, ...(params && { params }), ...(words && { words }) });
  });

  it("follows the payments service: every refusal's wording is still in its source", () => {
    for (const { file, literals, also = [] } of REFUSALS) {
      for (const literal of literals) expect(SOURCES[file], `${file}: ${literal}`).toContain(literal);
      for (const [other, code] of also) expect(SOURCES[other], `${other}: ${code}`).toContain(code);
    }
  });

  it("keeps the exact sentences it knew", () => {
    expect(knownMessage("Invalid credentials")).toEqual({ key: "err.invalidCredentials" });
    expect(knownMessage("This account is closed; please contact Jesh Storage")).toEqual({ key: "err.accountClosed" });
    expect(knownMessage("Session ended; please log in again")).toEqual({ key: "err.sessionEnded" });
  });

  it("knows no other sentence, nor a known one with more around it", () => {
    expect(knownMessage("Booking not found")).toBeNull();
    expect(knownMessage("")).toBeNull();
    expect(knownMessage("constructor")).toBeNull();
    expect(knownMessage("Invalid credentials!")).toBeNull();
    expect(knownMessage("Cannot bank more than the drawer should hold (KES 5,500) today")).toBeNull();
    expect(knownMessage("Oops: Cannot bank more than the drawer should hold (KES 5,500)")).toBeNull();
    expect(knownMessage("Cannot bank more than the drawer should hold (KES lots)")).toBeNull();
    expect(knownMessage("Refund is paid, not awaiting approval yet")).toBeNull();
    expect(knownMessage("The account number JESH-1 names no booking or invoice")).toBeNull();
    expect(knownMessage("That account cannot take this money: ")).toBeNull();
  });

  it("says a status word as the console does, in the reader's language; another word as the server gave it", () => {
    const en = (key: MessageKey, vars?: Record<string, string>) => translate("en", key, vars);
    const sw = (key: MessageKey, vars?: Record<string, string>) => translate("sw", key, vars);
    const receipt = knownMessage("That receipt is known already (applied)");
    expect(receipt && sayKnown(receipt, sw)).toBe("Risiti hiyo inajulikana tayari (imetumika).");
    expect(receipt && sayKnown(receipt, en)).toBe("That receipt is known already (applied).");
    const unmatched = knownMessage("That receipt is known already (unmatched)");
    expect(unmatched && sayKnown(unmatched, sw)).toBe("Risiti hiyo inajulikana tayari (haijalingana).");
    const paying = knownMessage("Refund is paying, not awaiting approval");
    expect(paying && sayKnown(paying, sw)).toBe("Marejesho haya hayasubiri kuidhinishwa (hali yake: inalipwa).");
    expect(paying && sayKnown(paying, en)).toBe("This refund is paying, not awaiting approval.");
    const paid = knownMessage("Refund is paid, not awaiting approval");
    expect(paid && sayKnown(paid, sw)).toBe("Marejesho haya hayasubiri kuidhinishwa (hali yake: imerejeshwa).");
    // A status the console does not know yet, or a word an object has (not a status): shown as given.
    for (const word of ["queued", "constructor", "toString"]) {
      const other = knownMessage(`Refund is ${word}, not awaiting approval`);
      expect(other, word).toEqual({ key: "err.refundNotAwaiting", params: { status: word } });
      expect(other && sayKnown(other, sw), word).toBe(`Marejesho haya hayasubiri kuidhinishwa (hali yake: ${word}).`);
    }
    // A refund's status is not a Paybill payment's.
    expect(knownMessage("That receipt is known already (paying)")).toEqual(
      { key: "err.receiptKnown", params: { status: "paying" } });
  });

  it("says the refusals of a reversal in Kiswahili", () => {
    const sw = (message: string) => {
      const known = knownMessage(message);
      return known && sayKnown(known, (key, vars) => translate("sw", key, vars));
    };
    expect(sw("Cannot take back more than the drawer should hold (KES 1,100)"))
      .toBe("Huwezi kutoa tena zaidi ya kile droo inapaswa kuwa nacho (KES 1,100).");
    expect(sw("A reversal cannot be reversed: record the movement again"))
      .toBe("Ubatilisho hauwezi kubatilishwa: rekodi pesa hiyo upya.");
    expect(sw("Cash movement not found"))
      .toBe("Pesa hiyo ya benki au chenji haikupatikana. Pakia daftari la pesa taslimu upya.");
  });

  it("is said in Kiswahili with the server's values", () => {
    const known = knownMessage("Cannot bank more than the drawer should hold (KES 5,500)");
    expect(known && translate("sw", known.key, known.params))
      .toBe("Huwezi kuweka benki zaidi ya kile droo inapaswa kuwa nacho (KES 5,500).");
    const reason = knownMessage("That account cannot take this money: there is no booking JESH-9");
    expect(reason && translate("sw", reason.key, reason.params))
      .toBe("Hakuna nafasi JESH-9, kwa hivyo haiwezi kupokea pesa hii.");
    const other = knownMessage("That account cannot take this money: a reason added since");
    expect(other && translate("sw", other.key, other.params))
      .toBe("Akaunti hiyo haiwezi kupokea pesa hii: a reason added since.");
  });
});
