import { useId, useState } from "react";
import { useI18n } from "../i18n/i18n";
import { formatKES } from "../lib/money";
import { paybillAccount, usePaybill, type PaybillTarget } from "../lib/paybill";

/**
 * "Or pay from your phone": the M-PESA menu's Paybill, with the business number, the account number that names this
 * booking or invoice, and the amount (a booking's price exactly; an invoice's balance, any part of which it takes).
 * Nothing while the Paybill's number loads, when it is off or cannot be read. `onCheck` looks again (the page does not
 * know of a payment it did not start).
 */
export function PaybillHowTo({ target, amount, onCheck }: {
  target: PaybillTarget; amount: number; onCheck?: () => unknown;
}) {
  const { t } = useI18n();
  const business = usePaybill();
  const headingId = useId();
  const [checking, setChecking] = useState(false);
  if (!business) return null;
  const account = paybillAccount(target);
  const check = async () => {
    if (!onCheck) return;
    setChecking(true);
    try {
      await onCheck();
    } finally {
      setChecking(false);
    }
  };
  return (
    <section className="paybill" aria-labelledby={headingId} data-paybill-account={account}>
      <h3 id={headingId}>{t("paybill.title")}</h3>
      <p className="paybill-steps">{t("paybill.steps")}</p>
      <dl className="facts paybill-facts">
        <div><dt>{t("paybill.business")}</dt><dd className="paybill-code">{business}</dd></div>
        <div><dt>{t("paybill.account")}</dt><dd className="paybill-code">{account}</dd></div>
        <div><dt>{t("paybill.amount")}</dt><dd>{formatKES(amount)}</dd></div>
      </dl>
      <p className="field-hint">{"booking" in target ? t("paybill.exact") : t("paybill.any")}</p>
      {onCheck && (
        <button type="button" className="btn btn-ghost btn-small" onClick={() => void check()} disabled={checking}>
          {checking ? t("common.wait") : t("paybill.check")}
        </button>
      )}
    </section>
  );
}
