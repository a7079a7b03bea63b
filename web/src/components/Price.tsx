import { formatKES } from "../lib/money";
import { useI18n } from "../i18n/i18n";

/** A price in KES; `per` adds "/ month" in the current language; `estimate` marks a figure the server has not fixed. */
export function Price({ amount, per, estimate, className }: {
  amount: number; per?: "month"; estimate?: boolean; className?: string;
}) {
  const { t } = useI18n();
  return (
    <span className={["price", className].filter(Boolean).join(" ")}>
      {estimate && <span className="price-approx">{t("price.approx")} </span>}
      <strong>{formatKES(amount)}</strong>
      {per === "month" && <span className="price-per"> {t("price.perMonth")}</span>}
    </span>
  );
}
