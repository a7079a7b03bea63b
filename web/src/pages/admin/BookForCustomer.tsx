import { useCallback, useState, type FormEvent } from "react";
import { api, errorOf, type ApiError } from "../../api/client";
import { useI18n } from "../../i18n/i18n";
import { awaitingPayment, loadBookings, type Booking, type Unit } from "../../lib/bookings";
import { quoteBooking, type Plan } from "../../lib/bookingQuote";
import type { CustomerDetail } from "../../lib/customerNames";
import { addDays, formatDay, isIsoDate, nairobiDate } from "../../lib/dates";
import { formatKES } from "../../lib/money";
import { useLoad } from "../../lib/useLoad";
import { useReloadWhile } from "../../lib/useReloadWhile";
import { BookingQuote } from "../../components/BookingQuote";
import { Price } from "../../components/Price";
import { Alert, ErrorAlert, SelectField, Spinner, StatusBadge, TextField } from "../../components/ui";
import { sizeLabel } from "../UnitsPage";
import { cashEntry } from "../../lib/cash";
import { useRecordCash } from "./CashDesk";
import { MpesaPrompt } from "./MpesaPrompt";

/**
 * A walk-in customer at the desk: the operator books an available unit for them (`POST /api/bookings/for-customer`,
 * the customer's own booking under the rules of `POST /api/bookings`), then sends the M-PESA prompt for it to their
 * phone on record and follows it until booking confirms it; or takes the customer's cash for it there and then (the
 * booking's price exactly, for JESH-<id>, as the Money page records it).
 */
export function BookForCustomer({ customer }: { customer: CustomerDetail }) {
  const { t, lang } = useI18n();
  const today = nairobiDate();
  const units = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/units", { params: { query: { status: "available" } } });
    return data
      ? { data: [...data.data].sort((a, b) => a.unit_number.localeCompare(b.unit_number)) }
      : { error: errorOf(error, response.status) };
  }, []);
  const [unitId, setUnitId] = useState("");
  const [plan, setPlan] = useState<Plan>("monthly");
  const [start, setStart] = useState(today);
  const [end, setEnd] = useState(addDays(today, 30));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  // The booking just made here (with its unit, which is no longer in the available list), and its prompt panel.
  const [made, setMade] = useState<{ booking: Booking; unit: Unit } | null>(null);
  // Units booked here are left out at once: inventory hears of a booking by an event, so the list may still offer it.
  const [bookedHere, setBookedHere] = useState<number[]>([]);
  const [prompting, setPrompting] = useState(false);
  const [paid, setPaid] = useState(false);
  // The cash just taken for it: the receipt shows, the prompt goes.
  const [cash, setCash] = useState<{ amount: number; receipt: string } | null>(null);
  const cashDesk = useRecordCash();

  // Booking confirms it on hearing of the payment: read the customer's bookings again until it shows confirmed.
  const madeId = made?.booking.id;
  const reloadMade = useCallback(async () => {
    if (madeId === undefined) return;
    const { data } = await loadBookings({ user_id: customer.id });
    const fresh = data?.find((b) => b.id === madeId);
    if (fresh) setMade((m) => (m && m.booking.id === fresh.id ? { ...m, booking: fresh } : m));
  }, [madeId, customer.id]);
  useReloadWhile(paid && made?.booking.status === "pending", reloadMade);

  const offered = units.data?.filter((u) => !bookedHere.includes(u.id));
  const unit = offered?.find((u) => String(u.id) === unitId);
  const quote = quoteBooking({ plan, start, end, today, monthlyPrice: unit?.monthly_price ?? 0 });
  const rangeError = quote.rangeError ? t(quote.rangeError) : undefined;

  const book = async (e: FormEvent) => {
    e.preventDefault();
    if (!unit || !quote.valid) return;
    setBusy(true);
    setError(null);
    try {
      const body = plan === "monthly"
        ? { user_id: customer.id, unit_id: unit.id, start_date: start, plan }
        : { user_id: customer.id, unit_id: unit.id, start_date: start, end_date: end, plan };
      const { data, error: err, response } = await api.POST("/api/bookings/for-customer", { body });
      if (!data) {
        setError(errorOf(err, response.status, response));
        return;
      }
      setMade({ booking: data.data, unit });
      setBookedHere((ids) => [...ids, unit.id]);
      setPaid(false);
      setCash(null);
      cashDesk.clear(); // a refusal was about the booking before
      setPrompting(true);
      setUnitId("");
      void units.reload();
    } catch {
      setError({ message: "", status: 0 });
    } finally {
      setBusy(false);
    }
  };

  const b = made?.booking;
  const unpaid = b !== undefined && !paid && awaitingPayment(b);
  // The booking's price exactly, once the operator has said the customer handed it over.
  const takeCash = async () => {
    if (!b || cashDesk.busy) return;
    if (!window.confirm(t("desk.cashConfirm", { amount: formatKES(b.total_price), id: b.id }))) return;
    const payment = await cashDesk.record(cashEntry(`JESH-${b.id}`, b.total_price, ""));
    if (!payment) return;
    setCash({ amount: payment.amount, receipt: payment.receipt ?? "—" });
    setPaid(true);
    setPrompting(false);
    void reloadMade();
  };

  return (
    <section className="card stack-sm" aria-labelledby="desk-booking">
      <h2 id="desk-booking">{t("desk.title")}</h2>
      {made && b && (
        <div className="stack-sm">
          <Alert kind="success" title={t("desk.booked", { id: b.id, number: made.unit.unit_number })}>
            <p>
              {formatDay(b.start_date, lang)} – {b.end_date ? formatDay(b.end_date, lang) : t("admin.openEnded")}
              {" · "}<Price amount={b.total_price} />{" · "}<StatusBadge status={b.status} />
            </p>
          </Alert>
          {prompting && (
            <MpesaPrompt target={{ booking_id: b.id }} bookingId={b.id} amount={b.total_price} customer={customer}
              title={t("prompt.titleBooking", { id: b.id })}
              onPaid={() => { setPaid(true); void reloadMade(); }} onClose={() => setPrompting(false)} />
          )}
          {cash && (
            <Alert kind="success">
              <p>{t("desk.cashReceived", { amount: formatKES(cash.amount), receipt: cash.receipt })}</p>
            </Alert>
          )}
          {unpaid && (
            <div className="row-actions">
              {!prompting && (
                <button type="button" className="btn btn-small btn-mpesa" onClick={() => setPrompting(true)}
                  aria-label={t("prompt.forBooking", { id: b.id })}>{t("prompt.send")}</button>
              )}
              <button type="button" className="btn btn-small btn-secondary" disabled={cashDesk.busy}
                onClick={() => void takeCash()}>
                {cashDesk.busy ? t("common.wait") : t("desk.cash")}
              </button>
            </div>
          )}
          <ErrorAlert error={cashDesk.error} />
        </div>
      )}
      <form className="stack-sm" onSubmit={book} aria-label={t("desk.title")} noValidate>
        {units.loading && !units.data ? <Spinner label={t("common.loading")} /> : (
          <SelectField label={t("desk.unit")} value={unitId} required onChange={(e) => setUnitId(e.target.value)}
            hint={offered?.length === 0 ? t("desk.noUnits") : undefined}>
            <option value="">{t("desk.pickUnit")}</option>
            {offered?.map((u) => (
              <option key={u.id} value={u.id}>
                {`${u.unit_number} · ${sizeLabel(t, u.size)} · ${formatKES(u.monthly_price)} ${t("price.perMonth")}`}
              </option>
            ))}
          </SelectField>
        )}
        <div className="row-2">
          <SelectField label={t("book.plan")} value={plan} onChange={(e) => setPlan(e.target.value as Plan)}>
            <option value="monthly">{t("book.monthly")}</option>
            <option value="fixed">{t("book.fixed")}</option>
          </SelectField>
          <TextField label={t("book.start")} type="date" min={today} value={start} required
            onChange={(e) => { setStart(e.target.value); if (isIsoDate(e.target.value) && end <= e.target.value) setEnd(addDays(e.target.value, 30)); }} />
          {plan === "fixed" && (
            <TextField label={t("book.end")} type="date" min={start || today} value={end} required error={rangeError}
              onChange={(e) => setEnd(e.target.value)} />
          )}
        </div>
        {unit && <BookingQuote plan={plan} monthlyPrice={unit.monthly_price} quote={quote} reader="operator" />}
        <ErrorAlert error={error ?? units.error} />
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy || !unit || !quote.valid}>
            {busy ? t("common.wait") : t("desk.submit")}
          </button>
        </div>
        <p className="field-hint">{t("desk.hint")}</p>
      </form>
    </section>
  );
}
