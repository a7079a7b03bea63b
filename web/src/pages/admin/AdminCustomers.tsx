import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { api, errorOf } from "../../api/client";
import { useI18n } from "../../i18n/i18n";
import { useFilterParams } from "../../lib/useFilterParams";
import { useLoad } from "../../lib/useLoad";
import { hasNextPage, MAX_QUERY_LENGTH, offsetParam, previousOffset, searchQuery } from "../../lib/customers";
import { formatDay, nairobiDate } from "../../lib/dates";
import { displayPhone } from "../../lib/phone";
import { ErrorAlert, PageTitle, SelectField, Spinner, TextField } from "../../components/ui";
import { RoleBadge } from "./customerParts";

const ROLES = ["user", "admin"] as const;
type Role = (typeof ROLES)[number];
const LIMIT = 50;

/** The customer directory (auth's accounts): search by name, email or phone, filter by role, a page at a time. */
export function AdminCustomers() {
  const { t, lang } = useI18n();
  const [params, set] = useFilterParams();
  const q = searchQuery(params.get("q"));
  const asked = params.get("role") ?? "";
  const role = (ROLES as readonly string[]).includes(asked) ? (asked as Role) : undefined;
  const offset = offsetParam(params.get("offset"));
  const [input, setInput] = useState(q ?? "");
  useEffect(() => setInput(q ?? ""), [q]); // back and forward change the search too

  const customers = useLoad(async () => {
    const query = { ...(q ? { q } : {}), ...(role ? { role } : {}), limit: LIMIT, offset };
    const { data, error, response } = await api.GET("/api/auth/users", { params: { query } });
    return data ? { data: data.data } : { error: errorOf(error, response.status, response) };
  }, [q, role, offset]);
  const rows = customers.data ?? [];
  // A new search or role starts again from the first page.
  const search = (changes: Record<string, string>) => set({ ...changes, offset: "" });

  return (
    <div className="stack">
      <PageTitle sub={t("customers.sub")}>{t("admin.customers")}</PageTitle>
      <form className="card filters" role="search" aria-label={t("admin.customers")}
        onSubmit={(e) => { e.preventDefault(); search({ q: searchQuery(input) ?? "" }); }}>
        <TextField label={t("customers.search")} type="search" value={input}
          maxLength={MAX_QUERY_LENGTH} onChange={(e) => setInput(e.target.value)} />
        <SelectField label={t("customers.role")} value={role ?? ""} onChange={(e) => search({ role: e.target.value })}>
          <option value="">{t("admin.all")}</option>
          {ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}
        </SelectField>
        <div className="filters-actions">
          <button type="submit" className="btn btn-primary">{t("customers.searchButton")}</button>
          {(q || role) && (
            <button type="button" className="btn btn-ghost" onClick={() => { setInput(""); search({ q: "", role: "" }); }}>
              {t("customers.clear")}
            </button>
          )}
        </div>
      </form>
      <ErrorAlert error={customers.error} />
      {customers.loading && !customers.data ? <Spinner label={t("common.loading")} /> : rows.length === 0 ? (
        <p className="empty">{t("customers.none")}</p>
      ) : (
        <div className="table-wrap" role="region" aria-label={t("customers.showing", { from: offset + 1, to: offset + rows.length })} tabIndex={0}>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t("customers.name")}</th><th scope="col">{t("customers.email")}</th>
                <th scope="col">{t("customers.phone")}</th><th scope="col">{t("customers.role")}</th>
                <th scope="col">{t("customers.joined")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.id} data-customer-id={c.id}>
                  <th scope="row"><Link to={`/admin/customers/${c.id}`}>{c.name}</Link></th>
                  <td>{c.email}</td>
                  <td>{c.phone ? displayPhone(c.phone) : "—"}</td>
                  <td><RoleBadge role={c.role} /></td>
                  <td>{formatDay(nairobiDate(new Date(c.created_at)), lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(offset > 0 || hasNextPage(rows.length, LIMIT)) && (
        <nav className="actions" aria-label={t("customers.pages")}>
          <button type="button" className="btn btn-secondary" disabled={offset === 0 || customers.loading}
            onClick={() => { const previous = previousOffset(offset, LIMIT); set("offset", previous ? String(previous) : ""); }}>
            {t("customers.previous")}
          </button>
          <button type="button" className="btn btn-secondary" disabled={!hasNextPage(rows.length, LIMIT) || customers.loading}
            onClick={() => set("offset", String(offset + LIMIT))}>
            {t("customers.next")}
          </button>
        </nav>
      )}
    </div>
  );
}
