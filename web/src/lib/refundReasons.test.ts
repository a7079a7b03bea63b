import { describe, expect, it } from "vitest";
import { translate } from "../i18n/i18n";
import { sayRefundReason } from "./refundReasons";

const sw = (key: Parameters<typeof translate>[1], vars?: Record<string, string>) => translate("sw", key, vars);
const en = (key: Parameters<typeof translate>[1], vars?: Record<string, string>) => translate("en", key, vars);

describe("sayRefundReason", () => {
  it("says the fixed reasons of payments and billing in Kiswahili", () => {
    expect(sayRefundReason("credit left at the move-out", sw)).toBe("salio lililolipwa mapema lililobaki wakati wa kuhama");
    expect(sayRefundReason("cancelled by an admin", sw)).toBe("imeghairiwa na msimamizi");
    expect(sayRefundReason("money that matched no payment", sw)).toBe("pesa isiyolingana na malipo yoyote");
  });

  it("keeps the English as written", () => {
    for (const reason of ["cancelled by the customer before the start", "credit left at the cancellation",
      "paid to a rental that had ended", "money that matched no payment"]) {
      expect(sayRefundReason(reason, en)).toBe(reason);
    }
  });

  it("translates the start of a booking's refusal and keeps booking's own words", () => {
    expect(sayRefundReason("the booking could not take this payment (Booking is cancelled)", sw))
      .toBe("nafasi haikuweza kupokea malipo haya (Booking is cancelled)");
  });

  it("shows any other reason as the server gave it", () => {
    expect(sayRefundReason("Paybill account 'JESH-9': no such booking", sw)).toBe("Paybill account 'JESH-9': no such booking");
    expect(sayRefundReason("toString", sw)).toBe("toString");
  });
});
