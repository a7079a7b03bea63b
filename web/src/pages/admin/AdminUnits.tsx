import { useState, type FormEvent } from "react";
import { api, errorOf, type ApiError, type inventorySchemas } from "../../api/client";
import { act } from "../../lib/act";
import { useI18n } from "../../i18n/i18n";
import { useLoad } from "../../lib/useLoad";
import { Price } from "../../components/Price";
import { Alert, ErrorAlert, PageTitle, SelectField, Spinner, StatusBadge, TextField } from "../../components/ui";
import { SIZES, sizeLabel } from "../UnitsPage";

type Unit = inventorySchemas["UnitOut"];
const EMPTY = { unit_number: "", size: "small", dimensions: "", monthly_price: "", description: "" };

export function AdminUnits() {
  const { t } = useI18n();
  const units = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/units", {});
    return data ? { data: [...data.data].sort((a, b) => a.unit_number.localeCompare(b.unit_number)) } : { error: errorOf(error, response.status) };
  }, []);
  const [form, setForm] = useState(EMPTY);
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [editing, setEditing] = useState<number | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setCreated(null);
    const { data, error: err } = await act(() => api.POST("/api/units", {
      body: {
        unit_number: form.unit_number.trim(), size: form.size, dimensions: form.dimensions.trim(),
        monthly_price: Number(form.monthly_price), description: form.description.trim() || null,
      },
    }));
    if (data) {
      setCreated(data.data.unit_number);
      setForm(EMPTY);
      void units.reload();
    } else setError(err ?? null);
  };

  return (
    <div className="stack">
      <PageTitle sub={t("admin.unitsSub")}>{t("admin.units")}</PageTitle>
      <details className="card" open={units.data?.length === 0 || undefined}>
        <summary><h2 className="inline-h2">{t("admin.newUnit")}</h2></summary>
        <form className="form-grid" onSubmit={create}>
          <TextField label={t("admin.unitNumber")} required value={form.unit_number} maxLength={50}
            onChange={(e) => setForm({ ...form, unit_number: e.target.value })} />
          <SelectField label={t("units.size")} value={form.size} onChange={(e) => setForm({ ...form, size: e.target.value })}>
            {SIZES.map((s) => <option key={s} value={s}>{sizeLabel(t, s)}</option>)}
          </SelectField>
          <TextField label={t("unit.dimensions")} required value={form.dimensions} placeholder="3m x 2m x 2.4m"
            onChange={(e) => setForm({ ...form, dimensions: e.target.value })} />
          <TextField label={t("admin.priceKes")} type="number" inputMode="numeric" min={1} required value={form.monthly_price}
            onChange={(e) => setForm({ ...form, monthly_price: e.target.value })} />
          <TextField label={t("admin.description")} value={form.description} maxLength={2000}
            onChange={(e) => setForm({ ...form, description: e.target.value })} />
          <div className="form-grid-actions">
            <button className="btn btn-primary" type="submit">{t("admin.createUnit")}</button>
          </div>
        </form>
        <ErrorAlert error={error} />
        {created && <Alert kind="success">{t("admin.unitCreated", { number: created })}</Alert>}
      </details>
      <ErrorAlert error={units.error} />
      {units.loading && !units.data ? <Spinner label={t("common.loading")} /> : (
        <div className="table-wrap" role="region" aria-label={t("admin.units")} tabIndex={0}>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t("admin.unitNumber")}</th><th scope="col">{t("units.size")}</th>
                <th scope="col">{t("unit.dimensions")}</th><th scope="col">{t("unit.monthly")}</th>
                <th scope="col">{t("unit.status")}</th><th scope="col"><span className="sr-only">{t("admin.actions")}</span></th>
              </tr>
            </thead>
            <tbody>
              {units.data?.map((u) => editing === u.id ? (
                <EditRow key={u.id} unit={u} onDone={() => { setEditing(null); void units.reload(); }} />
              ) : (
                <tr key={u.id}>
                  <th scope="row">{u.unit_number}</th>
                  <td>{sizeLabel(t, u.size)}</td>
                  <td>{u.dimensions}</td>
                  <td><Price amount={u.monthly_price} /></td>
                  <td><StatusBadge status={u.status} /></td>
                  <td><button type="button" className="btn btn-small btn-ghost" onClick={() => setEditing(u.id)}
                    aria-label={t("admin.editUnit", { number: u.unit_number })}>{t("admin.edit")}</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function EditRow({ unit, onDone }: { unit: Unit; onDone: () => void }) {
  const { t } = useI18n();
  const [price, setPrice] = useState(String(unit.monthly_price));
  const [maintenance, setMaintenance] = useState(unit.status === "maintenance");
  const [dimensions, setDimensions] = useState(unit.dimensions);
  const [error, setError] = useState<ApiError | null>(null);
  const save = async () => {
    const body: inventorySchemas["UnitUpdate"] = { monthly_price: Number(price), dimensions };
    if (maintenance && unit.status !== "maintenance") body.status = "maintenance";
    if (!maintenance && unit.status === "maintenance") body.status = "available";
    setError(null);
    try {
      const { error: err, response } = await api.PUT("/api/units/{unit_id}", { params: { path: { unit_id: unit.id } }, body });
      if (err) setError(errorOf(err, response.status));
      else onDone();
    } catch {
      setError({ message: "", status: 0 }); // the network: said as such
    }
  };
  return (
    <tr className="editing">
      <th scope="row">{unit.unit_number}</th>
      <td>{sizeLabel(t, unit.size)}</td>
      <td><input aria-label={t("unit.dimensions")} value={dimensions} onChange={(e) => setDimensions(e.target.value)} /></td>
      <td><input aria-label={t("admin.priceKes")} type="number" min={1} value={price} onChange={(e) => setPrice(e.target.value)} /></td>
      <td>
        <label className="check">
          <input type="checkbox" checked={maintenance} onChange={(e) => setMaintenance(e.target.checked)} />
          {t("status.maintenance")}
        </label>
      </td>
      <td className="row-actions">
        <button type="button" className="btn btn-small btn-primary" onClick={save}>{t("admin.save")}</button>
        <button type="button" className="btn btn-small btn-ghost" onClick={onDone}>{t("admin.cancel")}</button>
        <ErrorAlert error={error} />
      </td>
    </tr>
  );
}
