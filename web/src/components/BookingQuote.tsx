import { useI18n } from "../i18n/i18n";
import type { BookingQuote as Quote, Plan } from "../lib/bookingQuote";
import { Price } from "./Price";

/** The price shown before booking (the customer's unit page, the console's desk booking): a monthly rental's rent,
 *  or fixed dates' days and estimate; the server's total is what is charged. */
export function BookingQuote({ plan, monthlyPrice, quote }: { plan: Plan; monthlyPrice: number; quote: Quote }) {
  const { t } = useI18n();
  return (
    <div className="quote" aria-live="polite">
      {plan === "monthly" && quote.valid ? (
        <>
          <p className="quote-line">{t("book.monthlyQuote")}</p>
          <p className="quote-total"><Price amount={monthlyPrice} per="month" /></p>
          <p className="field-hint">{t("book.monthlyQuoteHint")}</p>
        </>
      ) : quote.estimate !== null ? (
        <>
          <p className="quote-line">{t("book.days", { n: quote.days })}</p>
          <p className="quote-total"><Price amount={quote.estimate} estimate /></p>
          <p className="field-hint">{t("book.estimateHint")}</p>
        </>
      ) : (
        <p className="field-hint">{t("book.pickDates")}</p>
      )}
    </div>
  );
}
