import { useState } from "react";
import { api, errorOf, type ApiError, type paths } from "../../api/client";
import { act } from "../../lib/act";
import { useI18n } from "../../i18n/i18n";
import { useLoad } from "../../lib/useLoad";
import { formatInstant } from "../../lib/dates";
import { SERVICES, SERVICE_NAMES, type Prefix, type Service } from "../../lib/services";
import { Alert, ErrorAlert, PageTitle, Spinner } from "../../components/ui";

// Every service parks the events it could not apply; each answers its own list and replay (same shapes).
// A service dropping its routes from the contract breaks the build here.
type ListPath = `${Prefix}/admin/dead-letters`;
type ReplayPath = `${Prefix}/admin/dead-letters/{letter_id}/replay`;
const _paths: [ListPath, ReplayPath] extends [keyof paths, keyof paths] ? true : never = true;
void _paths;

type Parked = paths["/api/billing/admin/dead-letters"]["get"]["responses"][200]["content"]["application/json"]["data"][number];
type Row = Parked & { service: Service };

async function loadParked(): Promise<{ data?: Row[]; error?: ApiError }> {
  const all = await Promise.all(SERVICE_NAMES.map(async (service) => {
    const path = `${SERVICES[service]}/admin/dead-letters` as "/api/billing/admin/dead-letters";
    const { data, error, response } = await api.GET(path, { params: { query: { limit: 100 } } });
    return data ? { rows: data.data.map((d) => ({ ...d, service })) } : { error: errorOf(error, response.status) };
  }));
  const failed = all.find((r) => r.error);
  const rows = all.flatMap((r) => r.rows ?? []).sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  return failed && rows.length === 0 ? { error: failed.error } : { data: rows, error: failed?.error };
}

/** Parked events of every service, newest first, each with a replay. */
export function AdminEvents() {
  const { t, lang } = useI18n();
  const parked = useLoad(loadParked, []);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);

  const replay = async (row: Row) => {
    const key = `${row.service}-${row.id}`;
    setBusy(key);
    setError(null);
    setOutcome(null);
    const path = `${SERVICES[row.service]}/admin/dead-letters/{letter_id}/replay` as "/api/billing/admin/dead-letters/{letter_id}/replay";
    const { data, error: err } = await act(() => api.POST(path, { params: { path: { letter_id: row.id } } }));
    if (data) setOutcome(t("events.replayed", { type: row.event_type, outcome: data.data.outcome }));
    else if (err) setError(err);
    await parked.reload();
    setBusy(null);
  };

  return (
    <div className="stack">
      <PageTitle sub={t("events.sub")}>{t("events.title")}</PageTitle>
      {outcome && <Alert kind="success">{outcome}</Alert>}
      <ErrorAlert error={error ?? parked.error} />
      {parked.loading && !parked.data ? <Spinner label={t("common.loading")} /> : parked.data?.length === 0 ? (
        <p className="empty">{t("events.none")}</p>
      ) : (
        <ul className="list">
          {parked.data?.map((row) => (
            <li key={`${row.service}-${row.id}`} className="card stack-sm" data-letter={`${row.service}-${row.id}`}>
              <div className="section-head">
                <div>
                  <p className="list-title">{row.event_type} <span className="muted">· {row.service}</span></p>
                  <p className="muted">{row.consumer} · {t("events.deliveries", { n: row.deliveries })} · {formatInstant(row.created_at, lang)}</p>
                </div>
                <button type="button" className="btn btn-small btn-primary" disabled={busy === `${row.service}-${row.id}`}
                  onClick={() => void replay(row)}>
                  {t("events.replay")}<span className="sr-only"> {row.service} #{row.id}</span>
                </button>
              </div>
              <p className="wrap">{row.error}</p>
              <details>
                <summary>{t("events.payload")}</summary>
                <pre className="payload">{row.payload}</pre>
              </details>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
