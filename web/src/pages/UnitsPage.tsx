import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api, errorOf, type inventorySchemas } from "../api/client";
import { useI18n } from "../i18n/i18n";
import { useLoad } from "../lib/useLoad";
import { Price } from "../components/Price";
import { ErrorAlert, SelectField, Spinner, StatusBadge, TextField } from "../components/ui";
import { addDays, nairobiDate } from "../lib/dates";
import type { MessageKey } from "../i18n/messages";

type Unit = inventorySchemas["UnitOut"];
export const SIZES = ["small", "medium", "large", "extra_large"] as const;

export function sizeLabel(t: (k: MessageKey) => string, size: string): string {
  const key = `size.${size}` as MessageKey;
  return t(key) === key ? size : t(key);
}

export function UnitsPage() {
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const query = {
    size: params.get("size") || undefined,
    max_price: params.get("max_price") ? Number(params.get("max_price")) : undefined,
    available_from: params.get("from") || undefined,
    available_to: params.get("to") || undefined,
  };
  const { data: units, error, loading } = useLoad(async () => {
    const q = { ...query };
    if (!(q.available_from && q.available_to)) {
      delete q.available_from;
      delete q.available_to;
    }
    const { data, error, response } = await api.GET("/api/units", { params: { query: q } });
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, [params.toString()]);

  const [form, setForm] = useState({
    size: query.size ?? "", max: params.get("max_price") ?? "",
    from: query.available_from ?? "", to: query.available_to ?? "",
  });
  const today = nairobiDate();
  const apply = (e: FormEvent) => {
    e.preventDefault();
    const next = new URLSearchParams();
    if (form.size) next.set("size", form.size);
    if (form.max) next.set("max_price", form.max);
    if (form.from && form.to) {
      next.set("from", form.from);
      next.set("to", form.to);
    }
    setParams(next);
  };
  const visible = (units ?? []).filter((u) => u.status !== "maintenance");

  return (
    <div className="stack">
      <section className="hero">
        <h1>{t("units.heroTitle")}</h1>
        <p>{t("units.heroText")}</p>
      </section>
      <form className="card filters" onSubmit={apply} aria-label={t("units.filters")}>
        <SelectField label={t("units.size")} value={form.size} onChange={(e) => setForm({ ...form, size: e.target.value })}>
          <option value="">{t("units.anySize")}</option>
          {SIZES.map((s) => <option key={s} value={s}>{sizeLabel(t, s)}</option>)}
        </SelectField>
        <TextField label={t("units.maxPrice")} type="number" inputMode="numeric" min={0} step={1}
          value={form.max} onChange={(e) => setForm({ ...form, max: e.target.value })} />
        <TextField label={t("units.from")} type="date" min={today} value={form.from}
          onChange={(e) => setForm({ ...form, from: e.target.value, to: form.to || (e.target.value ? addDays(e.target.value, 30) : "") })} />
        <TextField label={t("units.to")} type="date" min={form.from || today} value={form.to}
          onChange={(e) => setForm({ ...form, to: e.target.value })} />
        <div className="filters-actions">
          <button type="submit" className="btn btn-primary">{t("units.search")}</button>
          {params.toString() && (
            <button type="button" className="btn btn-ghost" onClick={() => { setForm({ size: "", max: "", from: "", to: "" }); setParams(new URLSearchParams()); }}>
              {t("units.clear")}
            </button>
          )}
        </div>
      </form>
      <ErrorAlert error={error} />
      {loading && !units ? (
        <Spinner label={t("common.loading")} />
      ) : (
        <section aria-labelledby="units-heading">
          <h2 id="units-heading" className="section-title">{t("units.count", { n: visible.length })}</h2>
          {visible.length === 0 ? (
            <p className="empty">{t("units.none")}</p>
          ) : (
            <ul className="unit-grid">
              {visible.map((u) => <UnitCard key={u.id} unit={u} range={query.available_from && query.available_to ? `?from=${query.available_from}&to=${query.available_to}` : ""} />)}
            </ul>
          )}
        </section>
      )}
    </div>
  );
}

function UnitCard({ unit, range }: { unit: Unit; range: string }) {
  const { t } = useI18n();
  return (
    <li className="card unit-card">
      <div className="unit-card-head">
        <span className={`size-chip size-${unit.size}`}>{sizeLabel(t, unit.size)}</span>
        <StatusBadge status={unit.status} />
      </div>
      <h3>
        <Link to={`/units/${unit.id}${range}`} className="stretched">{t("units.unit", { number: unit.unit_number })}</Link>
      </h3>
      <p className="muted">{unit.dimensions}</p>
      {unit.description && <p>{unit.description}</p>}
      <div className="unit-card-foot">
        <Price amount={unit.monthly_price} per="month" />
        <span className="link-arrow" aria-hidden="true">{t("units.view")} →</span>
      </div>
    </li>
  );
}
