import { useI18n } from "../i18n/i18n";
import { QUOTE_WORDING, type BookingQuote as Quote, type Plan, type QuoteReader } from "../lib/bookingQuote";
import { Price } from "./Price";

/** The price shown before booking (the customer's unit page, the console's desk booking): a monthly rental's rent,
 *  or fixed dates' days and estimate; the server's total is what is charged. At the desk the operator reads it
 *  (`reader="operator"`): its hints speak about the customer instead of to them. */
export function BookingQuote({ plan, monthlyPrice, quote, reader = "customer" }: {
  plan: Plan; monthlyPrice: number; quote: Quote; reader?: QuoteReader;
}) {
  const { t } = useI18n();
  const wording = QUOTE_WORDING[reader];
  return (
    <div className="quote" aria-live="polite">
      {plan === "monthly" && quote.valid ? (
        <>
          <p className="quote-line">{t("book.monthlyQuote")}</p>
          <p className="quote-total"><Price amount={monthlyPrice} per="month" /></p>
          <p className="field-hint">{t(wording.monthlyHint)}</p>
        </>
      ) : quote.estimate !== null ? (
        <>
          <p className="quote-line">{t("book.days", { n: quote.days })}</p>
          <p className="quote-total"><Price amount={quote.estimate} estimate /></p>
          <p className="field-hint">{t(wording.estimateHint)}</p>
        </>
      ) : (
        <p className="field-hint">{t(wording.pickDates)}</p>
      )}
    </div>
  );
}
