import { describe, expect, it } from "vitest";
import { loadLang, translate } from "../i18n/i18n";
import type { MessageKey } from "../i18n/messages";
import { formatDay, type Lang } from "./dates";
import { lineText } from "./invoiceLines";

const invoice = { period_start: "2027-01-05", period_end: "2027-02-04" };
const say = (lang: Lang) => (key: MessageKey, vars?: Record<string, string | number>) => translate(lang, key, vars);
const text = (kind: string, description: string, lang: Lang) => lineText({ kind, description }, invoice, say(lang), lang);

describe("an invoice's lines", () => {
  it("say the rent and the late fee in the reader's language, dates as the portal writes them", async () => {
    await loadLang("sw");
    const day = (d: string, lang: Lang) => formatDay(d, lang); // "Jumanne, 5 Jan 2027": the portal's dates
    expect(text("rent", "Rent 2027-01-05 to 2027-02-04", "sw"))
      .toBe(`Kodi ya ${day("2027-01-05", "sw")} hadi ${day("2027-02-04", "sw")}`);
    expect(text("late_fee", "Late fee (7 days past due)", "sw")).toBe("Ada ya kuchelewa (siku 7 baada ya tarehe ya kulipa)");
    expect(text("late_fee", "Late fee (0 days past due)", "sw")).toBe("Ada ya kuchelewa");
    expect(text("rent", "Rent 2027-01-05 to 2027-02-04", "en"))
      .toBe(`Rent ${day("2027-01-05", "en")} to ${day("2027-02-04", "en")}`);
    expect(text("late_fee", "Late fee (7 days past due)", "en")).toBe("Late fee (7 days past due)");
  });
  it("take a rent line's own days, else the invoice's period", async () => {
    await loadLang("sw");
    expect(text("rent", "Rent 2027-01-10 to 2027-02-04", "sw")).toBe(`Kodi ya ${formatDay("2027-01-10", "sw")} hadi ${formatDay("2027-02-04", "sw")}`);
    expect(text("rent", "Monthly rent", "sw")).toBe(`Kodi ya ${formatDay("2027-01-05", "sw")} hadi ${formatDay("2027-02-04", "sw")}`);
  });
  it("keep billing's words for what the portal cannot say itself", async () => {
    await loadLang("sw");
    expect(text("adjustment", "Goodwill discount, December", "sw")).toBe("Goodwill discount, December");
  });
});
