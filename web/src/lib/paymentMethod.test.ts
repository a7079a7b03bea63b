import { describe, expect, it } from "vitest";
import { paidWith } from "./paymentMethod";
import { translate } from "../i18n/i18n";

describe("paidWith", () => {
  it("names M-PESA, Pesapal (card, Airtel Money) and cash payments", () => {
    expect(paidWith("mpesa")).toBe("mpesa");
    expect(paidWith("card")).toBe("card");
    expect(paidWith("cash")).toBe("cash");
  });
  it("falls back to neutral words for any other or unknown method", () => {
    expect(paidWith("paypal")).toBe("other");
    expect(paidWith("")).toBe("other");
    expect(paidWith(null)).toBe("other");
    expect(paidWith(undefined)).toBe("other");
  });
});

describe("texts about a receipt or a refund", () => {
  const vars = { amount: "KES 5,000", receipt: "ABC123", code: "ABC123" };
  const texts = (method: string, lang: "en" | "sw") => {
    const how = paidWith(method);
    return [
      translate(lang, `receipt.${how}`),
      translate(lang, `booking.refundText.${how}`, vars),
      translate(lang, `booking.refundPaid.${how}`, vars),
    ];
  };

  it("say M-PESA only for an M-PESA payment", () => {
    for (const lang of ["en", "sw"] as const) {
      for (const text of texts("mpesa", lang)) expect(text).toContain("M-PESA");
      for (const method of ["card", "cash", "paypal"]) {
        for (const text of texts(method, lang)) expect(text).not.toContain("M-PESA");
      }
    }
  });

  it("name Pesapal for a card payment", () => {
    expect(texts("card", "en")).toEqual([
      "Pesapal ref",
      "KES 5,000 is owed back to you; it is sent back to the card or account you paid with once approved.",
      "KES 5,000 was sent back to the card or account you paid with (Pesapal ref ABC123).",
    ]);
    expect(translate("sw", "pay.successText", { receipt: translate("sw", "receipt.card"), code: "ABC123" }))
      .toBe("Kumbukumbu ya Pesapal ABC123. Tunathibitisha nafasi yako…");
  });

  it("say cash at our office for a cash payment, in both languages", () => {
    expect(texts("cash", "en")).toEqual([
      "Cash receipt",
      "KES 5,000 is owed back to you; it is paid back to you in cash at our office.",
      "KES 5,000 was paid back to you in cash at our office (receipt ABC123).",
    ]);
    expect(texts("cash", "sw")).toEqual([
      "Risiti ya pesa taslimu",
      "Unadaiwa kurejeshewa KES 5,000; utarudishiwa kwa pesa taslimu ofisini kwetu.",
      "KES 5,000 imerejeshwa kwako kwa pesa taslimu ofisini kwetu (risiti ABC123).",
    ]);
    expect([translate("en", "method.cash"), translate("sw", "method.cash")]).toEqual(["Cash", "Pesa taslimu"]);
  });
});
