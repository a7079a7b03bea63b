import { Fragment, useCallback, useEffect, useRef, useState } from "react";
import { api, errorOf, type ApiError, type paths } from "../../api/client";
import { useI18n } from "../../i18n/i18n";
import { useFilterParams } from "../../lib/useFilterParams";
import { formatInstant } from "../../lib/dates";
import { merged, toLoadNext, type Source } from "../../lib/mergedPages";
import { SERVICES, SERVICE_NAMES, type Prefix, type Service } from "../../lib/services";
import { useCustomers } from "../../lib/customerNames";
import { ErrorAlert, PageTitle, SelectField, Spinner } from "../../components/ui";
import type { MessageKey } from "../../i18n/messages";
import { CustomerName } from "./customerParts";

// Every service keeps the log of what its admins did; each answers its own pages (same shapes).
type AuditPath = `${Prefix}/admin/audit`;
const _paths: AuditPath extends keyof paths ? true : never = true; // a service dropping the route breaks the build
void _paths;

type Entry = paths["/api/billing/admin/audit"]["get"]["responses"][200]["content"]["application/json"]["data"][number];
type Row = Entry & { service: Service };
const PAGE = 50;
const at = (row: Row) => new Date(row.occurred_at).toISOString();

async function loadPage(service: Service, before?: number): Promise<{ rows?: Row[]; error?: ApiError }> {
  const path = `${SERVICES[service]}/admin/audit` as "/api/billing/admin/audit";
  const { data, error, response } = await api.GET(path, { params: { query: { limit: PAGE, ...(before ? { before } : {}) } } });
  return data ? { rows: data.data.map((d) => ({ ...d, service })) } : { error: errorOf(error, response.status) };
}

/** An entry's details as `name: value` pairs (a nested value as JSON), for a table cell that wraps. */
function describe(details: Entry["details"]): string {
  return Object.entries(details).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ");
}

/** What admins did, from every service's audit log (or one service's), newest first, a page at a time. */
export function AdminAudit() {
  const { t, lang } = useI18n();
  const [params, set] = useFilterParams();
  const asked = params.get("service") ?? "";
  const only = (SERVICE_NAMES as string[]).includes(asked) ? (asked as Service) : undefined;
  const [sources, setSources] = useState<Source<Row>[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const seq = useRef(0);

  // Loads the next page of each source at the horizon (every source, the first time); a newer filter wins.
  const extend = useCallback(async (names: Service[], current: Source<Row>[]) => {
    const mine = ++seq.current;
    setBusy(true);
    const wanted = new Set(toLoadNext(current, at));
    const next = await Promise.all(current.map(async (source, i): Promise<[Source<Row>, ApiError | null]> => {
      const service = names[i];
      if (!wanted.has(i) || service === undefined) return [source, null];
      const before = source.rows.length ? Math.min(...source.rows.map((r) => r.id)) : undefined;
      const page = await loadPage(service, before);
      // A service that does not answer is left out (its error shown), so that the others still read in order.
      return page.rows ? [{ rows: [...source.rows, ...page.rows], more: page.rows.length === PAGE }, null]
        : [{ rows: source.rows, more: false }, page.error ?? null];
    }));
    if (mine !== seq.current) return;
    setError(next.find(([, failed]) => failed)?.[1] ?? null);
    setSources(next.map(([source]) => source));
    setBusy(false);
  }, []);

  const names = only ? [only] : SERVICE_NAMES;
  useEffect(() => {
    setSources(null);
    void extend(names, names.map(() => ({ rows: [], more: true })));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [only, extend]);

  const shown = sources ? merged(sources, at) : null;
  const admins = useCustomers(shown?.rows.map((r) => r.actor_id) ?? []);
  return (
    <div className="stack">
      <PageTitle sub={t("audit.sub")}>{t("audit.title")}</PageTitle>
      <form className="card filters" aria-label={t("units.filters")} onSubmit={(e) => e.preventDefault()}>
        <SelectField label={t("audit.service")} value={only ?? ""} onChange={(e) => set("service", e.target.value)}>
          <option value="">{t("admin.all")}</option>
          {SERVICE_NAMES.map((s) => <option key={s} value={s}>{t(`service.${s}` as MessageKey)} ({s})</option>)}
        </SelectField>
      </form>
      <ErrorAlert error={error} />
      {!shown ? <Spinner label={t("common.loading")} /> : shown.rows.length === 0 && !shown.more ? (
        <p className="empty">{t("audit.none")}</p>
      ) : (
        <div className="table-wrap" role="region" aria-label={t("audit.title")} tabIndex={0}>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t("audit.when")}</th><th scope="col">{t("audit.service")}</th>
                <th scope="col">{t("audit.admin")}</th><th scope="col">{t("audit.action")}</th>
                <th scope="col">{t("audit.target")}</th><th scope="col">{t("audit.details")}</th>
                <th scope="col">{t("audit.request")}</th>
              </tr>
            </thead>
            <tbody>
              {shown.rows.map((r) => (
                <tr key={`${r.service}-${r.id}`} data-audit={`${r.service}-${r.id}`}>
                  <td>{formatInstant(r.occurred_at, lang)}</td>
                  <td>{r.service}</td>
                  <td>#{r.actor_id}<CustomerName customer={admins.get(r.actor_id)} /> · {r.actor_role}</td>
                  <th scope="row" className="ident"><Breakable text={r.action} /></th>
                  <td className="ident"><Breakable text={r.target} /></td>
                  <td className="wrap details">{describe(r.details)}</td>
                  {/* Cut to the column's width (hover or copy gives the whole id, to search the logs by). */}
                  <td className="muted clip" title={r.request_id ?? undefined}>{r.request_id ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown?.more && (
        <button type="button" className="btn btn-secondary" disabled={busy}
          onClick={() => sources && void extend(names, sources)}>
          {t("audit.older")}
        </button>
      )}
    </div>
  );
}

/** An identifier ("booking.created_for_customer", "cash-movement:4") that may break after its dots, underscores,
 *  hyphens and colons, never inside a word: a long one does not push the table past a desktop's width. */
function Breakable({ text }: { text: string }) {
  const parts = text.split(/(?<=[._:-])/);
  return <>{parts.map((part, i) => <Fragment key={i}>{part}{i < parts.length - 1 && <wbr />}</Fragment>)}</>;
}
