import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api, errorOf, type ApiError } from "../../api/client";
import { act } from "../../lib/act";
import { useI18n } from "../../i18n/i18n";
import { useFilterParams } from "../../lib/useFilterParams";
import { useLoad } from "../../lib/useLoad";
import { erasureAskedAt } from "../../lib/erasure";
import { MAX_QUERY_LENGTH, searchQuery } from "../../lib/customers";
import { offsetParam } from "../../lib/paging";
import { formatDay, nairobiDate } from "../../lib/dates";
import { displayPhone, normalizeKenyanPhone } from "../../lib/phone";
import { ErrorAlert, PageTitle, SelectField, Spinner, TextField } from "../../components/ui";
import { RoleBadge } from "./customerParts";
import { Pager } from "../../components/Pager";

const ROLES = ["user", "admin"] as const;
type Role = (typeof ROLES)[number];
const LIMIT = 50;

/** An operator opens an account for a customer at the desk: the customer is emailed a link to choose a password.
 *  The new customer's page opens, saying so. */
function OpenAccount() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const [form, setForm] = useState({ name: "", email: "", phone: "" });
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const phone = normalizeKenyanPhone(form.phone);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!phone || !form.name.trim() || !form.email.trim()) return;
    setBusy(true);
    setError(null);
    const { data, error: err } = await act(() => api.POST("/api/auth/users", {
      body: { name: form.name.trim(), email: form.email.trim(), phone },
    }));
    setBusy(false);
    if (!data) {
      setError(err ?? null);
      return;
    }
    navigate(`/admin/customers/${data.data.id}`, { state: { opened: true } });
  };

  return (
    <details className="card">
      <summary><h2 className="inline-h2">{t("customers.open")}</h2></summary>
      <p className="muted">{t("customers.openWhy")}</p>
      <form className="form-grid" onSubmit={submit} noValidate>
        <TextField label={t("field.name")} required maxLength={100} value={form.name}
          error={touched && !form.name.trim() ? t("customers.nameMissing") : undefined}
          onChange={(e) => setForm({ ...form, name: e.target.value })} />
        <TextField label={t("field.email")} type="email" required value={form.email}
          error={touched && !form.email.trim() ? t("customers.emailMissing") : undefined}
          onChange={(e) => setForm({ ...form, email: e.target.value })} />
        <TextField label={t("field.phone")} type="tel" inputMode="tel" required value={form.phone}
          error={touched && !phone ? t("signup.phoneError") : undefined}
          onChange={(e) => setForm({ ...form, phone: e.target.value })} />
        <div className="form-grid-actions">
          <button className="btn btn-primary" type="submit" disabled={busy}>{busy ? t("common.wait") : t("customers.openSubmit")}</button>
        </div>
      </form>
      <ErrorAlert error={error} />
    </details>
  );
}

/** The customer directory (auth's accounts): search by name, email or phone, filter by role
 *  (or the login guard, or a request to be erased), a page at a time. */
export function AdminCustomers() {
  const { t, lang } = useI18n();
  const [params, set] = useFilterParams();
  const q = searchQuery(params.get("q"));
  const asked = params.get("role") ?? "";
  const role = (ROLES as readonly string[]).includes(asked) ? (asked as Role) : undefined;
  const guarded = params.get("guarded") === "1";
  const erasureRequested = params.get("erasure_requested") === "1";
  const offset = offsetParam(params.get("offset"));
  const [input, setInput] = useState(q ?? "");
  useEffect(() => setInput(q ?? ""), [q]); // back and forward change the search too

  const customers = useLoad(async () => {
    const query = { ...(q ? { q } : {}), ...(role ? { role } : {}), ...(guarded ? { guarded } : {}),
      ...(erasureRequested ? { erasure_requested: true } : {}), limit: LIMIT, offset };
    const { data, error, response } = await api.GET("/api/auth/users", { params: { query } });
    return data ? { data: data.data } : { error: errorOf(error, response.status, response) };
  }, [q, role, guarded, erasureRequested, offset]);
  const rows = customers.data ?? [];
  // A new search or role starts again from the first page.
  const search = (changes: Record<string, string>) => set({ ...changes, offset: "" });

  return (
    <div className="stack">
      <PageTitle sub={t("customers.sub")}>{t("admin.customers")}</PageTitle>
      <OpenAccount />
      <form className="card filters" role="search" aria-label={t("admin.customers")}
        onSubmit={(e) => { e.preventDefault(); search({ q: searchQuery(input) ?? "" }); }}>
        <TextField label={t("customers.search")} type="search" value={input}
          maxLength={MAX_QUERY_LENGTH} onChange={(e) => setInput(e.target.value)} />
        <SelectField label={t("customers.role")} value={role ?? ""} onChange={(e) => search({ role: e.target.value })}>
          <option value="">{t("admin.all")}</option>
          {ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}
        </SelectField>
        <label className="check">
          <input type="checkbox" checked={guarded} onChange={(e) => search({ guarded: e.target.checked ? "1" : "" })} />
          {t("customers.guardedOnly")}
        </label>
        <label className="check">
          <input type="checkbox" checked={erasureRequested}
            onChange={(e) => search({ erasure_requested: e.target.checked ? "1" : "" })} />
          {t("customers.erasureAsked")}
        </label>
        <div className="filters-actions">
          <button type="submit" className="btn btn-primary">{t("customers.searchButton")}</button>
          {(q || role || guarded || erasureRequested) && (
            <button type="button" className="btn btn-ghost" onClick={() => { setInput(""); search({ q: "", role: "", guarded: "", erasure_requested: "" }); }}>
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
                  <td><RoleBadge role={c.role} />{c.erased_at ? <> <span className="badge badge-muted">{t("customers.erased")}</span></>
                    : c.closed_at && <> <span className="badge badge-bad">{t("customers.closed")}</span></>}
                    {erasureAskedAt(c) && <> <span className="badge badge-warn">{t("customers.erasureAsked")}</span></>}</td>
                  <td>{formatDay(nairobiDate(new Date(c.created_at)), lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager label={t("customers.pages")} offset={offset} rows={rows.length} limit={LIMIT} busy={customers.loading} />
    </div>
  );
}
