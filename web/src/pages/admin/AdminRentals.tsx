import { Link, useSearchParams } from "react-router-dom";
import { api, errorOf } from "../../api/client";
import { useI18n } from "../../i18n/i18n";
import { useLoad } from "../../lib/useLoad";
import { STAGES } from "../../lib/billing";
import { formatDay } from "../../lib/dates";
import { Price } from "../../components/Price";
import { StageBadge } from "../../components/StageBadge";
import { ErrorAlert, PageTitle, SelectField, Spinner, StatusBadge } from "../../components/ui";
import type { MessageKey } from "../../i18n/messages";

/** Every active monthly rental (billing's rent roll) with its delinquency stage, balance and access. */
export function AdminRentals() {
  const { t, lang } = useI18n();
  const [params, setParams] = useSearchParams();
  const asked = params.get("stage") ?? "";
  const stage = (STAGES as readonly string[]).includes(asked) ? asked : "";
  const roll = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/billing/reports/rent-roll", {});
    return data && typeof data !== "string" ? { data: data.data } : { error: errorOf(error, response.status) };
  }, []);
  const rows = (roll.data ?? []).filter((r) => !stage || r.delinquency_stage === stage)
    .sort((a, b) => b.days_past_due - a.days_past_due || a.booking_id - b.booking_id);

  return (
    <div className="stack">
      <PageTitle sub={t("rentals.sub")}>{t("rentals.title")}</PageTitle>
      <div className="card filters">
        <SelectField label={t("rentals.stage")} value={stage}
          onChange={(e) => setParams(e.target.value ? new URLSearchParams({ stage: e.target.value }) : new URLSearchParams())}>
          <option value="">{t("admin.all")}</option>
          {STAGES.map((s) => <option key={s} value={s}>{t(`stage.${s}` as MessageKey)}</option>)}
        </SelectField>
      </div>
      <ErrorAlert error={roll.error} />
      {roll.loading && !roll.data ? <Spinner label={t("common.loading")} /> : rows.length === 0 ? (
        <p className="empty">{t("rentals.none")}</p>
      ) : (
        <div className="table-wrap" role="region" aria-label={t("rentals.title")} tabIndex={0}>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t("money.booking")}</th><th scope="col">{t("rentals.tenant")}</th>
                <th scope="col">{t("admin.unit")}</th><th scope="col">{t("booking.monthlyRate")}</th>
                <th scope="col">{t("rental.paidThrough")}</th><th scope="col">{t("rental.balance")}</th>
                <th scope="col">{t("rental.credit")}</th>
                <th scope="col">{t("rentals.daysPastDue")}</th><th scope="col">{t("rentals.stage")}</th>
                <th scope="col">{t("rental.access")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.booking_id} data-booking-id={r.booking_id}>
                  <th scope="row"><Link to={`/admin/invoices?booking_id=${r.booking_id}`}>#{r.booking_id}</Link></th>
                  <td>{r.tenant_name ?? `${t("admin.customerId")}${r.user_id}`}</td>
                  <td>{r.unit_number ?? r.unit_id}</td>
                  <td><Price amount={r.monthly_rate} /></td>
                  <td>{formatDay(r.paid_through, lang)}</td>
                  <td><Price amount={r.balance} /></td>
                  <td data-col="credit"><Price amount={r.credit} /></td>
                  <td>{r.days_past_due}</td>
                  <td><StageBadge stage={r.delinquency_stage} /></td>
                  <td><StatusBadge status={r.access === "suspended" ? "suspended" : "active"} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
