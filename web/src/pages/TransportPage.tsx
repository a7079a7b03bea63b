import { useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { api, errorOf, type ApiError, type transportSchemas } from "../api/client";
import { useI18n } from "../i18n/i18n";
import { useLoad } from "../lib/useLoad";
import { loadBookings, loadUnitIndex, type Booking } from "../lib/bookings";
import { allPages, MOST_ROWS } from "../lib/paging";
import { formatDay, formatInstant, nairobiLocalToIso, nairobiDate, addDays } from "../lib/dates";
import { formatKES, transportEstimate } from "../lib/money";
import { Price } from "../components/Price";
import { Alert, ErrorAlert, PageTitle, SelectField, Spinner, StatusBadge, TextField } from "../components/ui";

export type TransportRequest = transportSchemas["TransportRequestOut"];

export function TransportPage() {
  const { t, lang } = useI18n();
  const [params] = useSearchParams();
  // Every request of the customer's (transport answers a page at a time), newest first.
  const requests = useLoad(async () => {
    const all = await allPages<TransportRequest>(async (offset, limit) => {
      const { data, error, response } = await api.GET("/api/transport-requests", { params: { query: { offset, limit } } });
      return data ? { rows: data.data } : { error: errorOf(error, response.status) };
    }, MOST_ROWS);
    return all.rows ? { data: all.rows.sort((a, b) => b.id - a.id) } : { error: all.error };
  }, []);
  // Every confirmed booking of the customer's (booking answers a page at a time), newest first.
  const bookings = useLoad(async () => {
    const all = await allPages<Booking>(async (offset, limit) => {
      const { data, error } = await loadBookings({ status: "confirmed", offset, limit });
      return data ? { rows: data } : { error };
    }, MOST_ROWS);
    return all.rows ? { data: all.rows } : { error: all.error };
  }, []);
  const units = useLoad(() => loadUnitIndex(), []);
  const [form, setForm] = useState({
    booking: params.get("booking") ?? "", pickup: "", delivery: "", distance: "",
    when: `${addDays(nairobiDate(), 1)}T09:00`, items: "",
  });
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<{ id: number; estimated_cost: number } | null>(null);
  const [busy, setBusy] = useState(false);
  const distance = Number(form.distance);
  const estimate = form.distance ? transportEstimate(distance) : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const preferred = nairobiLocalToIso(form.when);
    if (!preferred) return;
    setBusy(true);
    setError(null);
    setCreated(null);
    try {
      const { data, error: err, response } = await api.POST("/api/transport-requests", {
        body: {
          booking_id: form.booking ? Number(form.booking) : null,
          pickup_address: form.pickup, delivery_address: form.delivery, distance,
          preferred_time: preferred, items_description: form.items,
        },
      });
      if (data) {
        setCreated({ id: data.data.id, estimated_cost: data.data.estimated_cost });
        setForm({ ...form, pickup: "", delivery: "", distance: "", items: "" });
        void requests.reload();
      } else setError(errorOf(err, response.status));
    } catch {
      setError({ message: "", status: 0 });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="stack">
      <PageTitle sub={t("transport.sub")}>{t("transport.title")}</PageTitle>
      <div className="two-col">
        <section className="card" aria-labelledby="new-request">
          <h2 id="new-request">{t("transport.new")}</h2>
          <form className="stack-sm" onSubmit={submit}>
            <SelectField label={t("transport.booking")} value={form.booking} onChange={(e) => setForm({ ...form, booking: e.target.value })}>
              <option value="">{t("transport.noBooking")}</option>
              {bookings.data?.map((b) => (
                <option key={b.id} value={b.id}>
                  {t("bookings.booking", { id: b.id })}
                  {units.data?.get(b.unit_id) ? ` · ${t("units.unit", { number: units.data.get(b.unit_id)!.unit_number })}` : ""}
                  {` · ${formatDay(b.start_date, lang)}`}
                </option>
              ))}
            </SelectField>
            {/* Without them only "no booking" is offered: say why (before, nothing did). */}
            <ErrorAlert error={bookings.error} />
            <TextField label={t("transport.pickup")} required value={form.pickup} autoComplete="street-address"
              onChange={(e) => setForm({ ...form, pickup: e.target.value })} />
            <TextField label={t("transport.delivery")} required value={form.delivery}
              onChange={(e) => setForm({ ...form, delivery: e.target.value })} />
            <div className="row-2">
              <TextField label={t("transport.distance")} type="number" inputMode="decimal" min={0.01} max={500} step={0.01} required
                value={form.distance} onChange={(e) => setForm({ ...form, distance: e.target.value })} />
              <TextField label={t("transport.when")} type="datetime-local" required value={form.when}
                hint={t("transport.whenHint")} onChange={(e) => setForm({ ...form, when: e.target.value })} />
            </div>
            <TextField label={t("transport.items")} required value={form.items} maxLength={1000}
              onChange={(e) => setForm({ ...form, items: e.target.value })} />
            <p className="quote-line" aria-live="polite">
              {estimate !== null ? t("transport.estimate", { amount: formatKES(estimate) }) : t("transport.tariff")}
            </p>
            <ErrorAlert error={error} />
            {created && (
              <Alert kind="success" title={t("transport.created")}>
                {t("transport.createdText", { amount: formatKES(created.estimated_cost) })}
              </Alert>
            )}
            <button className="btn btn-primary btn-block" type="submit" disabled={busy}>{busy ? t("common.wait") : t("transport.submit")}</button>
          </form>
        </section>
        <section aria-labelledby="my-requests">
          <h2 id="my-requests" className="section-title">{t("transport.mine")}</h2>
          <ErrorAlert error={requests.error} />
          {requests.loading && !requests.data ? <Spinner label={t("common.loading")} /> : requests.data?.length === 0 ? (
            <p className="empty">{t("transport.none")}</p>
          ) : (
            <ul className="list">
              {requests.data?.map((r) => (
                <li key={r.id} className="card list-item">
                  <div className="list-main">
                    <h3 className="list-title">{r.pickup_address} → {r.delivery_address}</h3>
                    <p className="muted">{formatInstant(r.preferred_time, lang)} · {r.distance} km</p>
                    <p className="muted">{r.items_description}</p>
                  </div>
                  <div className="list-side">
                    <StatusBadge status={r.status} />
                    <Price amount={r.estimated_cost} />
                  </div>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}
