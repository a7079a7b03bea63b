import { useEffect, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api, errorOf, type ApiError } from "../api/client";
import { useI18n } from "../i18n/i18n";
import { useSession } from "../auth/session";
import { useLoad } from "../lib/useLoad";
import { accessState, invoiceBadge, openInvoices, type Invoice } from "../lib/billing";
import { addDays, formatDay, nairobiDate } from "../lib/dates";
import { allPages, MOST_ROWS } from "../lib/paging";
import { formatKES } from "../lib/money";
import { lineText } from "../lib/invoiceLines";
import { displayPhone, normalizeKenyanPhone } from "../lib/phone";
import { Price } from "./Price";
import { MpesaPay } from "./MpesaPay";
import { PaybillHowTo } from "./PaybillHowTo";
import { StageBadge } from "./StageBadge";
import { Alert, ErrorAlert, Spinner, StatusBadge, TextField } from "./ui";

const POLL_MS = 1500;
const POLL_FOR_MS = 120_000;

/** A confirmed monthly rental: gate code, access and why, balance and stage, invoices with pay now (M-PESA or
 * card), autopay, move-out notice. Billing learns of payments by events: after one the panel looks again until the
 * invoice shows paid (and opens the account the same way once the first payment confirmed the rental). */
export function RentalPanel({ bookingId, onChanged }: { bookingId: number; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const { user } = useSession();
  const account = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/billing/rentals/{booking_id}", {
      params: { path: { booking_id: bookingId } },
    });
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, [bookingId]);
  const invoices = useLoad(async () => {
    // Every page of them (billing answers a page at a time): an old open one decides access as much as a new one.
    const all = await allPages<Invoice>(async (offset, limit) => {
      const { data, error, response } = await api.GET("/api/invoices", {
        params: { query: { booking_id: bookingId, offset, limit } },
      });
      return data ? { rows: data.data } : { error: errorOf(error, response.status) };
    }, MOST_ROWS);
    return all.rows ? { data: all.rows.filter((i) => i.booking_id === bookingId) } : { error: all.error };
  }, [bookingId]);
  const [paying, setPaying] = useState<number | null>(null);
  const [params] = useSearchParams();
  // Invoices paid here (or by card on Pesapal's page, which sends the customer back with ?invoice_paid=<id>).
  const [paidInvoices, setPaidInvoices] = useState<number[]>(() => {
    const back = Number(params.get("invoice_paid"));
    return Number.isInteger(back) && back > 0 ? [back] : [];
  });
  const [pollUntil, setPollUntil] = useState(() => Date.now() + POLL_FOR_MS);
  const [cardError, setCardError] = useState<ApiError | null>(null);
  const [cardBusy, setCardBusy] = useState<number | null>(null);
  const [autopayPhone, setAutopayPhone] = useState(displayPhone(user?.phone ?? ""));
  const [autopayError, setAutopayError] = useState<ApiError | null>(null);
  const [moveOut, setMoveOut] = useState(addDays(nairobiDate(), 30));
  const [moveOutError, setMoveOutError] = useState<ApiError | null>(null);
  // A request of the autopay or notice form under way: its button waits (not sent twice).
  const [sending, setSending] = useState<"autopay" | "notice" | null>(null);
  // The move-out date of a notice given here (booking took it; billing hears of it by an event).
  const [noticeDate, setNoticeDate] = useState<string | null>(null);

  const opening = !account.data && account.error?.status === 404;
  const open = openInvoices(invoices.data ?? []);
  const recording = paidInvoices.length > 0 && open.some((i) => paidInvoices.includes(i.id));
  // Until billing shows the notice's date: the form then goes, and a month after it is no longer to be paid.
  const noticeRecording = noticeDate !== null && !!account.data && account.data.end_date !== noticeDate;
  useEffect(() => {
    if (!opening && !recording && !noticeRecording) return;
    const h = setInterval(() => {
      if (Date.now() > pollUntil) return;
      void account.reload();
      void invoices.reload();
    }, POLL_MS);
    return () => clearInterval(h);
  }, [opening, recording, noticeRecording, pollUntil, account.reload, invoices.reload]);

  // Once billing has recorded the payments, read the account once more: access may have come back in that commit.
  const settled = paidInvoices.length > 0 && !recording;
  useEffect(() => {
    if (settled) void account.reload();
  }, [settled, account.reload]);

  if (account.loading && !account.data && !account.error) return <Spinner label={t("common.loading")} />;
  if (!account.data) return opening ? <p className="muted" role="status">{t("rental.opening")}</p> : <ErrorAlert error={account.error} />;
  const a = account.data;
  const access = accessState(a, invoices.data ?? []);
  const paidNumbers = (invoices.data ?? []).filter((i) => paidInvoices.includes(i.id)).map((i) => i.number).join(", ");
  const suspended = access.access === "suspended";
  const ended = a.status === "ended"; // its gate code opens nothing any more (and is never given to anyone else)

  const paid = (inv: Invoice) => {
    setPaidInvoices((p) => [...p, inv.id]);
    setPollUntil(Date.now() + POLL_FOR_MS);
    setPaying(null);
    void invoices.reload();
    void account.reload();
  };

  const payByCard = async (inv: Invoice) => {
    setCardBusy(inv.id);
    setCardError(null);
    const sent = await api.POST("/api/payments/card/initiate", { body: { invoice_id: inv.id } }).catch(() => null); // null: the network
    if (sent?.data) {
      window.location.assign(sent.data.data.redirect_url); // Pesapal's page; it sends the customer back to /bookings/card-return
      return;
    }
    setCardError(sent ? errorOf(sent.error, sent.response.status) : { message: "", status: 0 });
    setCardBusy(null);
  };

  // A network failure is shown as such, like a refusal (before, the rejected promise was left unhandled: nothing).
  const setAutopay = async (enabled: boolean) => {
    const phone = normalizeKenyanPhone(autopayPhone);
    setAutopayError(null);
    setSending("autopay");
    const body = enabled ? { enabled, phone_number: phone } : { enabled };
    try {
      const { data, error, response } = await api.PUT("/api/billing/rentals/{booking_id}/autopay", {
        params: { path: { booking_id: bookingId } }, body,
      });
      if (data) account.setData(data.data);
      else setAutopayError(errorOf(error, response.status));
    } catch {
      setAutopayError({ message: "", status: 0 });
    } finally {
      setSending(null);
    }
  };

  const giveNotice = async (e: FormEvent) => {
    e.preventDefault();
    setMoveOutError(null);
    setSending("notice");
    const sent = await api.POST("/api/bookings/{booking_id}/move-out", {
      params: { path: { booking_id: bookingId } }, body: { move_out_date: moveOut },
    }).catch(() => null); // null: the network
    setSending(null);
    if (!sent?.data) {
      setMoveOutError(sent ? errorOf(sent.error, sent.response.status) : { message: "", status: 0 });
      return;
    }
    setNoticeDate(moveOut);
    setPollUntil(Date.now() + POLL_FOR_MS);
    onChanged();
    void account.reload();
  };

  return (
    <div className="stack">
      <section className="card" aria-labelledby="rental">
        <h2 id="rental">{t("rental.title")}</h2>
        {suspended && !ended && (
          <Alert kind="error" title={t("rental.suspendedTitle")}>
            <p className="access-why">
              {access.invoice
                ? t("rental.suspendedWhy", { number: access.invoice, n: access.daysOverdue })
                : t("rental.suspendedWhyBalance")}
            </p>
            <p>{t("rental.suspendedText", { amount: formatKES(access.balance) })}</p>
          </Alert>
        )}
        {paidInvoices.length > 0 && (
          <Alert kind="success" title={t("pay.successTitle")}>
            <p>{recording ? t("rental.recording") : t("rental.paidInvoices", { numbers: paidNumbers })}</p>
          </Alert>
        )}
        {noticeDate !== null && <Alert kind="success">{t("rental.moveOutDone")}</Alert>}
        {ended && <Alert kind="info" title={t("rental.endedTitle")}>{t("rental.endedText")}</Alert>}
        {!ended && (
          <>
            <p className="field-hint">{t("rental.gateCode")}</p>
            <p className={`gate-code${suspended ? " suspended" : ""}`} aria-label={t("rental.gateCodeIs", { code: a.gate_code.split("").join(" ") })}>
              {a.gate_code}
            </p>
          </>
        )}
        <dl className="facts">
          <div><dt>{t("rental.access")}</dt><dd><StatusBadge status={ended ? "ended" : access.access} /></dd></div>
          <div><dt>{t("rental.stage")}</dt><dd><StageBadge stage={a.delinquency_stage} /></dd></div>
          <div><dt>{t("rental.balance")}</dt><dd><Price amount={a.balance} /></dd></div>
          <div><dt>{t("booking.monthlyRate")}</dt><dd><Price amount={a.monthly_rate} per="month" /></dd></div>
          {a.paid_through && <div><dt>{t("rental.paidThrough")}</dt><dd>{formatDay(a.paid_through, lang)}</dd></div>}
          {a.next_invoice_date && <div><dt>{t("rental.nextInvoice")}</dt><dd>{formatDay(a.next_invoice_date, lang)}</dd></div>}
          {a.end_date && <div><dt>{t("rental.moveOut")}</dt><dd>{formatDay(a.end_date, lang)}</dd></div>}
          {a.credit > 0 && <div><dt>{t("rental.credit")}</dt><dd><Price amount={a.credit} /></dd></div>}
        </dl>
        {a.credit > 0 && <p className="muted rental-credit">{t("rental.creditText", { amount: formatKES(a.credit) })}</p>}
      </section>

      <section className="card" aria-labelledby="invoices">
        <h2 id="invoices">{t("rental.invoices")}</h2>
        <ErrorAlert error={invoices.error ?? cardError} />
        {invoices.data?.length === 0 ? <p className="muted">{t("rental.noInvoices")}</p> : (
          <ul className="list">
            {invoices.data?.map((inv) => (
              <li key={inv.id} className="invoice" data-invoice={inv.number}>
                <div className="invoice-head">
                  <div>
                    <p className="list-title"><Link to={`/invoices/${inv.id}`}>{inv.number}</Link></p>
                    <p className="muted">{formatDay(inv.period_start, lang)} – {formatDay(inv.period_end, lang)}</p>
                    <p className="muted">{t("rental.due", { date: formatDay(inv.due_date, lang) })}
                      {inv.status === "open" && inv.days_overdue > 0 && <> · <strong className="overdue">{t("rental.overdue", { n: inv.days_overdue })}</strong></>}
                      {inv.amount_refunded > 0 && <> · {t("invoice.paymentRefunded", { amount: formatKES(inv.amount_refunded) })}</>}</p>
                  </div>
                  <div className="list-side">
                    <StatusBadge status={`invoice-${invoiceBadge(inv)}`} />
                    <Price amount={inv.status === "open" ? inv.balance : inv.total} />
                  </div>
                </div>
                {inv.lines.length > 1 && (
                  <ul className="plain-list">{inv.lines.map((l, i) => <li key={i}>{lineText(l, inv, t, lang)}: <Price amount={l.amount} /></li>)}</ul>
                )}
                {inv.status === "open" && inv.balance > 0 && !paidInvoices.includes(inv.id) && (paying === inv.id ? (
                  <MpesaPay bookingId={bookingId} amount={inv.balance} resume={false}
                    start={async (phone) => {
                      const { data, error, response } = await api.POST("/api/invoices/{invoice_id}/pay", {
                        params: { path: { invoice_id: inv.id } }, body: { phone_number: phone },
                      });
                      return data ? null : errorOf(error, response.status);
                    }}
                    onPaid={() => paid(inv)} />
                ) : (
                  <>
                    <div className="actions">
                      <button type="button" className="btn btn-mpesa" onClick={() => setPaying(inv.id)}>
                        {t("rental.payNow")}<span className="sr-only"> {inv.number}</span>
                      </button>
                      <button type="button" className="btn btn-ghost" disabled={cardBusy === inv.id} onClick={() => void payByCard(inv)}>
                        {t("rental.payCard")}<span className="sr-only"> {inv.number}</span>
                      </button>
                    </div>
                    <PaybillHowTo target={{ invoice: inv.number }} amount={inv.balance}
                      onCheck={() => Promise.all([invoices.reload(), account.reload()])} />
                  </>
                ))}
              </li>
            ))}
          </ul>
        )}
      </section>

      {!ended && <section className="card stack-sm" aria-labelledby="autopay">
        <h2 id="autopay">{t("rental.autopay")}</h2>
        <p className="muted">{t("rental.autopayText")}</p>
        {a.autopay.enabled ? (
          <>
            <Alert kind="success">{t("rental.autopayOn", { phone: displayPhone(a.autopay.phone_number ?? "") })}</Alert>
            <button type="button" className="btn btn-ghost" disabled={sending === "autopay"}
              onClick={() => void setAutopay(false)}>{t("rental.autopayOff")}</button>
          </>
        ) : (
          <>
            <TextField label={t("pay.phone")} type="tel" inputMode="tel" value={autopayPhone}
              onChange={(e) => setAutopayPhone(e.target.value)} />
            <button type="button" className="btn btn-primary" onClick={() => void setAutopay(true)}
              disabled={!normalizeKenyanPhone(autopayPhone) || sending === "autopay"}>{t("rental.autopayEnable")}</button>
          </>
        )}
        <ErrorAlert error={autopayError} />
      </section>}

      {!a.end_date && !ended && (
        <form className="card stack-sm" onSubmit={giveNotice} aria-labelledby="moveout">
          <h2 id="moveout">{t("rental.moveOutTitle")}</h2>
          <p className="muted">{t("rental.moveOutText")}</p>
          <TextField label={t("rental.moveOut")} type="date" min={nairobiDate()} value={moveOut} onChange={(e) => setMoveOut(e.target.value)} />
          <ErrorAlert error={moveOutError} />
          <button type="submit" className="btn btn-secondary" disabled={sending === "notice"}>{t("rental.moveOutSubmit")}</button>
        </form>
      )}
    </div>
  );
}
