// An invoice's lines in the reader's language. Billing writes each line's description in English ("Rent 2027-01-05
// to 2027-02-04", "Late fee (7 days past due)"); the kinds the portal can say itself are said from the line's kind
// and the invoice's period (or the dates and days the description carries), the others (an adjustment) as billing
// wrote them.
import type { MessageKey } from "../i18n/messages";
import { formatDay, isIsoDate, type Lang } from "./dates";

interface Line { kind: string; description: string }
interface Period { period_start: string; period_end: string }
type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

const RENT = /^Rent (\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2})$/;
const DAYS_LATE = /\((\d+) days? past due\)/;

/** What a line of this invoice is, in `lang`. */
export function lineText(line: Line, invoice: Period, t: T, lang: Lang): string {
  if (line.kind === "rent") {
    const [from, to] = (RENT.exec(line.description) ?? []).slice(1);
    const own = from && to && isIsoDate(from) && isIsoDate(to); // a rent line names its own days (its invoice's period)
    return t("invoice.lineRent", {
      from: formatDay(own ? from : invoice.period_start, lang), to: formatDay(own ? to : invoice.period_end, lang),
    });
  }
  if (line.kind === "late_fee") {
    const n = Number(DAYS_LATE.exec(line.description)?.[1] ?? 0);
    return n > 0 ? t("invoice.lineLateFeeDays", { n }) : t("invoice.lineLateFee");
  }
  return line.description;
}
