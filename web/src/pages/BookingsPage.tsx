import { Link } from "react-router-dom";
import { api, errorOf } from "../api/client";
import type { Invoice } from "../lib/billing";
import { balancesByBooking } from "../lib/owed";
import { formatKES } from "../lib/money";
import { useI18n } from "../i18n/i18n";
import { useLoad } from "../lib/useLoad";
import { isMonthly, loadBookings, loadUnitIndex, monthlyRateOf } from "../lib/bookings";
import { formatDay } from "../lib/dates";
import { Price } from "../components/Price";
import { ErrorAlert, PageTitle, Spinner, StatusBadge } from "../components/ui";
import { Pager } from "../components/Pager";
import { useFilterParams } from "../lib/useFilterParams";
import { allPages, MOST_ROWS, offsetParam } from "../lib/paging";

const PAGE = 200;

export function BookingsPage() {
  const { t, lang } = useI18n();
  const [params] = useFilterParams();
  // Newest first, a page at a time (?offset=, as the console's lists): booking answers at most a page per request.
  const offset = offsetParam(params.get("offset"));
  const bookings = useLoad(() => loadBookings({ limit: PAGE, offset }), [offset]);
  const units = useLoad(() => loadUnitIndex(), []);
  // Monthly rentals: what is owed now (the open invoices' balances, as billing computed them), every page of them.
  const owed = useLoad(async () => {
    const open = await allPages<Invoice>(async (offset, limit) => {
      const { data, error, response } = await api.GET("/api/invoices", { params: { query: { status: "open", offset, limit } } });
      return data ? { rows: data.data } : { error: errorOf(error, response.status) };
    }, MOST_ROWS);
    return { data: balancesByBooking(open.rows ?? []) };
  }, []);
  return (
    <div className="stack">
      <PageTitle sub={t("bookings.sub")}>{t("bookings.title")}</PageTitle>
      <ErrorAlert error={bookings.error} />
      {bookings.loading && !bookings.data ? <Spinner label={t("common.loading")} /> : bookings.data?.length === 0 && offset === 0 ? (
        <div className="card empty-card">
          <p>{t("bookings.none")}</p>
          <Link className="btn btn-primary" to="/">{t("bookings.browse")}</Link>
        </div>
      ) : (
        <ul className="list">
          {bookings.data?.map((b) => {
            const unit = units.data?.get(b.unit_id);
            return (
              <li key={b.id} className="card list-item">
                <div className="list-main">
                  <h2 className="list-title">
                    <Link to={`/bookings/${b.id}`} className="stretched">
                      {unit ? t("units.unit", { number: unit.unit_number }) : t("bookings.booking", { id: b.id })}
                    </Link>
                  </h2>
                  <p className="muted">{formatDay(b.start_date, lang)} – {b.end_date ? formatDay(b.end_date, lang) : t("booking.openEnded")}</p>
                </div>
                <div className="list-side">
                  <StatusBadge status={b.status} />
                  {(owed.data?.get(b.id) ?? 0) > 0 && (
                    <strong className="overdue">{t("bookings.balanceDue", { amount: formatKES(owed.data!.get(b.id)!) })}</strong>
                  )}
                  {isMonthly(b) && monthlyRateOf(b) !== null
                    ? <Price amount={monthlyRateOf(b)!} per="month" />
                    : <Price amount={b.total_price} />}
                </div>
              </li>
            );
          })}
        </ul>
      )}
      <Pager label={t("bookings.pages")} offset={offset} rows={bookings.data?.length ?? 0} limit={PAGE} busy={bookings.loading} />
    </div>
  );
}
