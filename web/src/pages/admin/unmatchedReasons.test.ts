import { describe, expect, it } from "vitest";
import { addEnglish, translate } from "../../i18n/i18n";
import type { MessageKey } from "../../i18n/messages";
import { enConsole } from "../../i18n/consoleMessages";
import { sayUnmatchedReason } from "./unmatchedReasons";
// The payments service's own source: the English the reasons follow (Vite's ?raw).
import callbacksPy from "../../../../services/payments/src/payments/service/callbacks.py?raw";
import cardPy from "../../../../services/payments/src/payments/service/card.py?raw";
import paybillPy from "../../../../services/payments/src/payments/service/paybill.py?raw";

addEnglish(enConsole); // as the console's chunk does when it loads
const say = (lang: "en" | "sw") => (reason: string) =>
  sayUnmatchedReason(reason, (key: MessageKey, vars?: Record<string, string>) => translate(lang, key, vars));

describe("sayUnmatchedReason", () => {
  it("follows the payments service: every reason's wording is still in its source", () => {
    expect(callbacksPy).toContain('keep_unmatched(session, callback, body, reason="no payment has this CheckoutRequestID")');
    expect(cardPy).toContain('reason=f"no payment has this Pesapal order (merchant reference {merchant_reference})"');
    expect(paybillPy).toContain('reason=f"Paybill account {row.account!r}: {target.reason}"');
    expect(paybillPy).toContain('f"there is no booking {account}"');
  });

  it("says payments' reasons in the reader's language, with their values", () => {
    const reasons = [
      "no payment has this CheckoutRequestID",
      "no payment has this Pesapal order (merchant reference JESH-7-1a2b)",
      "Paybill account 'JESH 9': there is no booking JESH-9",
      "Paybill account \"Mama's\": a reason added since",
      "the booking could not take this payment (dates_taken)",
    ];
    expect(reasons.map(say("sw"))).toEqual([
      "Malipo ya M-PESA yasiyojibu ombi letu lolote (hakuna malipo yenye CheckoutRequestID yake)",
      "Oda ya Pesapal iliyolipwa ambayo hakuna malipo yetu yaliyoiunda (marejeo ya mfanyabiashara JESH-7-1a2b)",
      "Yalilipwa kwa Paybill kwa akaunti 'JESH 9': Hakuna nafasi JESH-9, kwa hivyo haiwezi kupokea pesa hii.",
      "Yalilipwa kwa Paybill kwa akaunti \"Mama's\": Akaunti hiyo haiwezi kupokea pesa hii: a reason added since.",
      "nafasi haikuweza kupokea malipo haya (dates_taken)",
    ]);
    expect(say("en")("Paybill account 'JESH 9': there is no booking JESH-9"))
      .toBe("Paid to the Paybill with account 'JESH 9': There is no booking JESH-9, so it cannot take this money.");
    expect(say("sw")("something payments says that the console does not know")).toBe(
      "something payments says that the console does not know");
  });
});
