import { useState } from "react";
import { Link } from "react-router-dom";
import { api, errorOf, type ApiError } from "../../api/client";
import { act } from "../../lib/act";
import { useI18n } from "../../i18n/i18n";
import { useLoad } from "../../lib/useLoad";
import { useCustomers } from "../../lib/customerNames";
import { useFilterParams } from "../../lib/useFilterParams";
import { formatInstant } from "../../lib/dates";
import { allPages, MOST_ROWS, offsetParam } from "../../lib/paging";
import { Price } from "../../components/Price";
import { Pager } from "../../components/Pager";
import { ErrorAlert, PageTitle, Spinner } from "../../components/ui";
import type { MessageKey } from "../../i18n/messages";
import type { TransportRequest } from "../TransportPage";
import { CustomerName } from "./customerParts";

const OPEN = ["requested", "scheduled", "in_progress"] as const;
const CLOSED = ["completed", "cancelled"] as const;
const COLUMNS = [...OPEN, ...CLOSED] as const;
type Column = (typeof COLUMNS)[number];
const NEXT: Partial<Record<Column, Column>> = { requested: "scheduled", scheduled: "in_progress", in_progress: "completed" };
/** Completed and cancelled requests shown at once, the most recently closed first; older ones a page at a time (`?offset=`). */
export const CLOSED_PAGE = 50;

type Query = { status: Column[]; user_id?: number; order: "asc" | "desc" | "recent"; limit: number; offset: number };

async function page(query: Query): Promise<{ rows?: TransportRequest[]; error?: ApiError }> {
  const { data, error, response } = await api.GET("/api/transport-requests", { params: { query } });
  return data ? { rows: data.data } : { error: errorOf(error, response.status) };
}

/** The dispatch board: every open request (requested, scheduled, on the way: what the trucks still have to do), the
 *  soonest first, and the completed and cancelled ones a page at a time, the most recently closed first. */
export function AdminTransport() {
  const { t, lang } = useI18n();
  const [params] = useFilterParams();
  const userId = Number(params.get("user_id")) || undefined; // one customer's requests (from their page)
  const offset = offsetParam(params.get("offset"));
  const requests = useLoad(async () => {
    const who = userId ? { user_id: userId } : {};
    const [open, closed] = await Promise.all([
      allPages((o, limit) => page({ ...who, status: [...OPEN], order: "asc", limit, offset: o }), MOST_ROWS),
      page({ ...who, status: [...CLOSED], order: "recent", limit: CLOSED_PAGE, offset }),  // just closed: on top
    ]);
    if (!open.rows || !closed.rows) return { error: open.error ?? closed.error };
    return { data: { open: open.rows, closed: closed.rows } };
  }, [userId, offset]);
  const shown = requests.data ? [...requests.data.open, ...requests.data.closed] : [];
  const customers = useCustomers(shown.map((r) => r.user_id));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState<number | null>(null);

  const move = async (r: TransportRequest, status: Column) => {
    // A cancelled request is final: the customer's truck is off for good.
    if (status === "cancelled" && !window.confirm(t("admin.transportCancelConfirm", { id: r.id }))) return;
    setBusy(r.id);
    setError(null);
    const { error: err } = await act(() => api.PATCH("/api/transport-requests/{request_id}/status", {
      params: { path: { request_id: r.id } }, body: { status },
    }));
    if (err) setError(err);
    await requests.reload();
    setBusy(null);
  };

  const byStatus = (s: Column) => shown.filter((r) => r.status === s);
  const closedRows = requests.data?.closed.length ?? 0;
  return (
    <div className="stack">
      <PageTitle sub={t("admin.transportSub")}>{t("admin.transport")}</PageTitle>
      {userId && (
        <p>
          {t("customer.sub", { id: userId })}<CustomerName customer={customers.get(userId)} />
          {" · "}<Link to="/admin/transport">{t("admin.everyone")}</Link>
        </p>
      )}
      <ErrorAlert error={error} />
      <ErrorAlert error={requests.error} />
      {requests.loading && !requests.data ? <Spinner label={t("common.loading")} /> : (
        <>
          <p className="muted" data-testid="closed-range">
            {closedRows
              ? t("admin.transportClosedRange", { from: offset + 1, to: offset + closedRows })
              : t(offset ? "admin.transportClosedNoMore" : "admin.transportClosedNone")}
          </p>
          <Pager label={t("admin.transportClosedPages")} offset={offset} rows={closedRows} limit={CLOSED_PAGE}
            busy={requests.loading} />
          <div className="board">
            {COLUMNS.map((col) => (
              <section key={col} className={`board-col board-${col}`} aria-labelledby={`col-${col}`}>
                <h2 id={`col-${col}`} className="board-title">
                  {t(`status.${col}` as MessageKey)} <span className="count">{byStatus(col).length}</span>
                  {(CLOSED as readonly string[]).includes(col) && <span className="sr-only"> {t("admin.transportOnThisPage")}</span>}
                </h2>
                <ul className="board-list">
                  {byStatus(col).map((r) => {
                    const next = NEXT[col];
                    return (
                      <li key={r.id} className="card board-card" data-request-id={r.id}>
                        <p className="board-card-title">#{r.id} · {r.pickup_address} → {r.delivery_address}</p>
                        <p className="muted">{formatInstant(r.preferred_time, lang)}</p>
                        <p className="muted">{r.items_description} · {r.distance} km · <Price amount={r.estimated_cost} /></p>
                        <p className="muted">
                          {t("admin.customerId")}{r.user_id}<CustomerName customer={customers.get(r.user_id)} />
                          {r.booking_id ? ` · ${t("bookings.booking", { id: r.booking_id })}` : ""}
                        </p>
                        <div className="actions">
                          {next && (
                            <button type="button" className="btn btn-small btn-primary" disabled={busy === r.id} onClick={() => move(r, next)}>
                              {t(`admin.action.${next}` as MessageKey)}<span className="sr-only"> {t("admin.requestNo", { id: r.id })}</span>
                            </button>
                          )}
                          {next && (
                            <button type="button" className="btn btn-small btn-ghost" disabled={busy === r.id} onClick={() => move(r, "cancelled")}>
                              {t("admin.cancel")}<span className="sr-only"> {t("admin.requestNo", { id: r.id })}</span>
                            </button>
                          )}
                        </div>
                      </li>
                    );
                  })}
                </ul>
              </section>
            ))}
          </div>
        </>
      )}
    </div>
  );
}
