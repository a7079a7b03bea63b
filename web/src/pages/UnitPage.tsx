import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, errorOf, type ApiError } from "../api/client";
import { useI18n } from "../i18n/i18n";
import { useSession } from "../auth/session";
import { useLoad } from "../lib/useLoad";
import { addDays, dayParam, formatDay, isIsoDate, nairobiDate } from "../lib/dates";
import { quoteBooking } from "../lib/bookingQuote";
import { BookingQuote } from "../components/BookingQuote";
import { Price } from "../components/Price";
import { Alert, ErrorAlert, PageTitle, Spinner, StatusBadge, TextField } from "../components/ui";
import { sizeLabel } from "./UnitsPage";
import { loadBookingPage } from "./lazyPages";

export function UnitPage() {
  const { unitId } = useParams();
  const id = Number(unitId);
  const { t, lang } = useI18n();
  const { user } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const today = nairobiDate();
  // The dates a link or the login page brings back; a hand-made one that is not a date is as if absent.
  const from = dayParam(params.get("from")) ?? today;
  const [start, setStart] = useState(from);
  const [end, setEnd] = useState(dayParam(params.get("to")) ?? addDays(from, 30));
  const [plan, setPlan] = useState<"fixed" | "monthly">(params.get("plan") === "monthly" ? "monthly" : "fixed");
  const [submitting, setSubmitting] = useState(false);
  const [bookError, setBookError] = useState<ApiError | null>(null);
  // Signed in, the next page is the booking's (its M-PESA prompt and hold countdown): fetch its chunk now, not after
  // the Book button on a slow connection. A failed fetch is tried again when the page is shown.
  useEffect(() => {
    if (user) loadBookingPage().catch(() => undefined);
  }, [user]);

  const unit = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/units/{unit_id}", { params: { path: { unit_id: id } } });
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, [id]);
  const taken = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/units/{unit_id}/availability", { params: { path: { unit_id: id } } });
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, [id]);

  if (unit.loading && !unit.data) return <Spinner label={t("common.loading")} />;
  if (!unit.data) return <ErrorAlert error={unit.error ?? { message: t("units.notFound"), status: 404 }} />;
  const u = unit.data;
  const monthly = plan === "monthly";
  const quote = quoteBooking({ plan, start, end, today, monthlyPrice: u.monthly_price });
  const validRange = quote.valid;
  const rangeError = quote.rangeError ? t(quote.rangeError) : undefined;

  const book = async (e: FormEvent) => {
    e.preventDefault();
    if (!user) {
      navigate(`/login?next=${encodeURIComponent(`/units/${id}?from=${start}&to=${end}&plan=${plan}`)}`);
      return;
    }
    setSubmitting(true);
    setBookError(null);
    try {
      const body = monthly
        ? { unit_id: id, start_date: start, plan: "monthly" as const }
        : { unit_id: id, start_date: start, end_date: end, plan: "fixed" as const };
      const { data, error, response } = await api.POST("/api/bookings", { body });
      if (data) navigate(`/bookings/${data.data.id}`);
      else setBookError(errorOf(error, response.status));
    } catch {
      setBookError({ message: "", status: 0 });
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <div className="stack">
      <p><Link to="/" className="back-link"><span aria-hidden="true">← </span>{t("units.back")}</Link></p>
      <PageTitle sub={u.dimensions}>{t("units.unit", { number: u.unit_number })}</PageTitle>
      <div className="two-col">
        <section className="card" aria-labelledby="about">
          <h2 id="about">{t("unit.about")}</h2>
          <dl className="facts">
            <div><dt>{t("units.size")}</dt><dd>{sizeLabel(t, u.size)}</dd></div>
            <div><dt>{t("unit.dimensions")}</dt><dd>{u.dimensions}</dd></div>
            <div><dt>{t("unit.monthly")}</dt><dd><Price amount={u.monthly_price} per="month" /></dd></div>
            <div><dt>{t("unit.status")}</dt><dd><StatusBadge status={u.status} /></dd></div>
          </dl>
          {u.description && <p>{u.description}</p>}
          <h3>{t("unit.taken")}</h3>
          {taken.data && taken.data.length > 0 ? (
            <ul className="plain-list">
              {taken.data.map((r) => (
                <li key={r.start_date}>{formatDay(r.start_date, lang)} – {formatDay(r.end_date, lang)}</li>
              ))}
            </ul>
          ) : (
            <p className="muted">{t("unit.allFree")}</p>
          )}
        </section>
        <section className="card book-card" aria-labelledby="book">
          <h2 id="book">{t("book.title")}</h2>
          {u.status === "maintenance" ? (
            <Alert kind="warning">{t("book.maintenance")}</Alert>
          ) : (
            <form onSubmit={book} className="stack-sm" noValidate>
              <fieldset className="plan-choice">
                <legend>{t("book.plan")}</legend>
                <label className={`plan-option${monthly ? " selected" : ""}`}>
                  <input type="radio" name="plan" value="monthly" checked={monthly} onChange={() => setPlan("monthly")} />
                  <span><strong>{t("book.monthly")}</strong><span className="field-hint">{t("book.monthlyHint")}</span></span>
                </label>
                <label className={`plan-option${monthly ? "" : " selected"}`}>
                  <input type="radio" name="plan" value="fixed" checked={!monthly} onChange={() => setPlan("fixed")} />
                  <span><strong>{t("book.fixed")}</strong><span className="field-hint">{t("book.fixedHint")}</span></span>
                </label>
              </fieldset>
              <div className="row-2">
                <TextField label={t("book.start")} type="date" min={today} value={start} required
                  onChange={(e) => { setStart(e.target.value); if (isIsoDate(e.target.value) && end <= e.target.value) setEnd(addDays(e.target.value, 30)); }} />
                {!monthly && (
                  <TextField label={t("book.end")} type="date" min={start || today} value={end} required error={rangeError}
                    onChange={(e) => setEnd(e.target.value)} />
                )}
              </div>
              <BookingQuote plan={plan} monthlyPrice={u.monthly_price} quote={quote} />
              <ErrorAlert error={bookError} />
              <button className="btn btn-primary btn-block" type="submit" disabled={!validRange || submitting}>
                {submitting ? t("common.wait") : user ? t("book.reserve") : t("book.loginToBook")}
              </button>
              <p className="field-hint">{t("book.holdHint")}</p>
            </form>
          )}
        </section>
      </div>
    </div>
  );
}
