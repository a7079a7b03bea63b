import { useState } from "react";
import { api, errorOf, type ApiError } from "../../api/client";
import { useI18n } from "../../i18n/i18n";
import { useLoad } from "../../lib/useLoad";
import { AGING_BUCKETS, agingValues, formatMonth, pivotRevenue } from "../../lib/billing";
import { addDays, nairobiDate } from "../../lib/dates";
import { downloadCsv, type CsvReport } from "../../lib/download";
import { BarChart } from "../../components/BarChart";
import { Price } from "../../components/Price";
import { ErrorAlert, PageTitle, Spinner, TextField } from "../../components/ui";
import type { MessageKey } from "../../i18n/messages";

const shortKES = (v: number) => (v >= 1_000_000 ? `${v / 1_000_000}M` : v >= 1000 ? `${v / 1000}k` : String(v));
const percent = (v: number) => `${v}%`;

/** Occupancy (inventory), revenue by month and method, aging (billing), each a small chart, and the CSV downloads. */
export function AdminReports() {
  const { t, lang } = useI18n();
  const today = nairobiDate();
  const [from, setFrom] = useState(addDays(today, -365));
  const [to, setTo] = useState(today);
  const [downloadError, setDownloadError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState<CsvReport | null>(null);
  const occupancy = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/units/reports/occupancy", {});
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, []);
  const revenue = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/billing/reports/revenue", { params: { query: { from, to } } });
    return data && typeof data !== "string" ? { data: data.data } : { error: errorOf(error, response.status) };
  }, [from, to]);
  const aging = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/billing/reports/aging", {});
    return data && typeof data !== "string" ? { data: data.data } : { error: errorOf(error, response.status) };
  }, []);

  const download = async (report: CsvReport) => {
    setBusy(report);
    setDownloadError(await downloadCsv(report, today, report === "revenue" ? { from, to } : {}));
    setBusy(null);
  };
  const chart = revenue.data ? pivotRevenue(revenue.data.rows) : null;
  const o = occupancy.data;

  return (
    <div className="stack">
      <PageTitle sub={t("reports.sub")}>{t("reports.title")}</PageTitle>
      <section className="card stack-sm" aria-labelledby="downloads">
        <h2 id="downloads">{t("reports.downloads")}</h2>
        <div className="actions">
          {(["rent-roll", "aging", "revenue"] as const).map((r) => (
            <button key={r} type="button" className="btn btn-secondary btn-small" disabled={busy === r} onClick={() => void download(r)}>
              {t(`reports.csv.${r}` as MessageKey)}
            </button>
          ))}
        </div>
        <ErrorAlert error={downloadError} />
      </section>
      <div className="report-grid">
        <section className="card stack-sm" aria-labelledby="occupancy">
          <h2 id="occupancy">{t("reports.occupancy")}</h2>
          <ErrorAlert error={occupancy.error} />
          {!o ? <Spinner label={t("common.loading")} /> : (
            <>
              <div className="stat-row">
                <p className="stat"><span className="muted">{t("reports.physical")}</span><strong>{percent(o.physical_occupancy)}</strong></p>
                <p className="stat"><span className="muted">{t("reports.economic")}</span><strong>{percent(o.economic_occupancy)}</strong></p>
                <p className="stat"><span className="muted">{t("reports.occupiedOf", { n: o.occupied_units, m: o.rentable_units })}</span>
                  <strong><Price amount={o.occupied_rent} per="month" /></strong></p>
              </div>
              <BarChart title={t("reports.unitsByStatus")}
                categories={Object.keys(o.by_status).map((s) => t(`status.${s}` as MessageKey))}
                series={[{ name: t("reports.units"), values: Object.values(o.by_status) }]} format={String} />
            </>
          )}
        </section>
        <section className="card stack-sm" aria-labelledby="aging">
          <h2 id="aging">{t("reports.aging")}</h2>
          <ErrorAlert error={aging.error} />
          {!aging.data ? <Spinner label={t("common.loading")} /> : (
            <>
              <p><span className="muted">{t("reports.openTotal")} </span><Price amount={aging.data.totals.total} /></p>
              <BarChart title={t("reports.aging")} categories={AGING_BUCKETS.map((b) => t(`aging.${b}` as MessageKey))}
                series={[{ name: t("rental.balance"), values: agingValues(aging.data.totals) }]} format={shortKES} />
            </>
          )}
        </section>
        <section className="card stack-sm" aria-labelledby="revenue">
          <h2 id="revenue">{t("reports.revenue")}</h2>
          <form className="row-2" onSubmit={(e) => e.preventDefault()}>
            <TextField label={t("reports.from")} type="date" value={from} max={to} onChange={(e) => e.target.value && setFrom(e.target.value)} />
            <TextField label={t("reports.to")} type="date" value={to} min={from} onChange={(e) => e.target.value && setTo(e.target.value)} />
          </form>
          <ErrorAlert error={revenue.error} />
          {!revenue.data || !chart ? <Spinner label={t("common.loading")} /> : chart.empty ? (
            <p className="empty">{t("reports.noRevenue")}</p>
          ) : (
            <>
              <p>
                <span className="muted">{t("reports.collected")} </span><Price amount={revenue.data.totals.collected} />
                <span className="muted"> · {t("reports.refunds")} </span><Price amount={revenue.data.totals.refunds} />
                <span className="muted"> · {t("reports.net")} </span><Price amount={revenue.data.totals.net} />
              </p>
              <BarChart title={t("reports.revenue")} categories={chart.months.map((m) => formatMonth(m, lang))}
                series={chart.methods.map((m) => ({ name: t(`method.${m}` as MessageKey) === `method.${m}` ? m : t(`method.${m}` as MessageKey), values: chart.collected[m] ?? [] }))}
                format={shortKES} />
            </>
          )}
        </section>
      </div>
    </div>
  );
}
