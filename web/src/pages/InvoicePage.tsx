import { lazy, useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, errorOf } from "../api/client";
import { useSession } from "../auth/session";
import { useI18n } from "../i18n/i18n";
import type { MessageKey } from "../i18n/messages";
import { invoiceStanding, owesBalance, payableBy, type Invoice } from "../lib/billing";
import { formatDay } from "../lib/dates";
import { formatKES } from "../lib/money";
import { lineText } from "../lib/invoiceLines";
import { displayPhone } from "../lib/phone";
import { useLoad } from "../lib/useLoad";
import { useReloadWhile } from "../lib/useReloadWhile";
import { LazyChunk } from "../components/LazyChunk";
import { PaybillHowTo } from "../components/PaybillHowTo";
import { Alert, ErrorAlert, Spinner } from "../components/ui";
import { NotFoundPage } from "./NotFoundPage";

// The operator's M-PESA prompt is console code: fetched only when an operator opens an invoice a customer owes.
const MpesaPrompt = lazy(() => import("./admin/MpesaPrompt"));

/** One invoice as a document to print or save as PDF: for its owner, or for an operator. */
export function InvoicePage() {
  const { invoiceId } = useParams();
  const id = Number(invoiceId);
  return Number.isSafeInteger(id) && id > 0 && String(id) === invoiceId ? <InvoiceLoader id={id} /> : <NotFoundPage />;
}

function InvoiceLoader({ id }: { id: number }) {
  const { t } = useI18n();
  const invoice = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/invoices/{invoice_id}", { params: { path: { invoice_id: id } } });
    return data ? { data: data.data } : { error: errorOf(error, response.status, response) };
  }, [id]);
  if (invoice.data) return <InvoiceDocument invoice={invoice.data} reload={invoice.reload} />;
  if (invoice.loading) return <Spinner label={t("common.loading")} />;
  if (invoice.error?.status === 404) return <Alert kind="error">{t("invoice.notFound")}</Alert>;
  if (invoice.error?.status === 403) return <Alert kind="error">{t("invoice.notYours")}</Alert>;
  return <ErrorAlert error={invoice.error} />;
}

/** Who the invoice is made out to: the viewer's own account, or (an operator's view) the customer's from auth (whose
 *  phone an operator's M-PESA prompt goes to). */
function useBilledTo(userId: number) {
  const { user } = useSession();
  const own = user?.id === userId;
  const account = useLoad(async () => {
    if (own) return {};
    const { data, error, response } = await api.GET("/api/auth/users/{user_id}", { params: { path: { user_id: userId } } });
    return data ? { data: data.data } : { error: errorOf(error, response.status, response) };
  }, [userId, own]);
  return own ? user : account.data ?? null;
}

function InvoiceDocument({ invoice: inv, reload }: { invoice: Invoice; reload: () => unknown }) {
  const { t, lang } = useI18n();
  const { user, isAdmin } = useSession();
  const billedTo = useBilledTo(inv.user_id);
  const standing = invoiceStanding(inv);
  const own = user?.id === inv.user_id;
  // An operator may send the customer the M-PESA prompt for it; once paid, billing records it by an event: the
  // invoice is read again until it shows paid (the prompt's outcome stays on the page meanwhile).
  const [prompting, setPrompting] = useState(false);
  const [paidByPrompt, setPaidByPrompt] = useState(false);
  useReloadWhile(paidByPrompt && inv.status === "open", reload);
  const promptable = isAdmin && !own && owesBalance(inv);

  // The browser names a saved PDF after the page's title.
  useEffect(() => {
    const before = document.title;
    document.title = `${inv.number} · Jesh Storage`;
    return () => { document.title = before; };
  }, [inv.number]);

  const standingLabel = standing.standing === "overdue"
    ? t("rental.overdue", { n: standing.daysOverdue })
    : t(`status.invoice-${standing.standing}` as MessageKey);
  const methodLabel = (method: string) => {
    const key = `method.${method}` as MessageKey;
    return t(key) === key ? method : t(key);
  };
  const back = own
    ? { to: `/bookings/${inv.booking_id}`, label: t("bookings.booking", { id: inv.booking_id }) }
    : isAdmin ? { to: `/admin/invoices?user_id=${inv.user_id}`, label: t("admin.invoices") } : null;

  return (
    <div className="stack invoice-page">
      <div className="invoice-toolbar no-print">
        {back && <Link to={back.to} className="back-link"><span aria-hidden="true">← </span>{back.label}</Link>}
        <button type="button" className="btn btn-primary" onClick={() => window.print()}>{t("invoice.print")}</button>
      </div>

      <article className="card invoice-doc" aria-labelledby="invoice-title">
        <header className="invoice-doc-head">
          <div>
            <p className="invoice-issuer">Jesh Storage</p>
            <p className="invoice-address">{t("invoice.address")}</p>
          </div>
          <div className="invoice-doc-title">
            <h1 id="invoice-title">{t("invoice.title", { number: inv.number })}</h1>
            <p className="invoice-standing">
              <span className="sr-only">{t("invoice.status")}: </span>
              <span className={`badge badge-${standing.tone}`}>{standingLabel}</span>
            </p>
          </div>
        </header>

        <div className="invoice-parties">
          <section aria-labelledby="billed-to" className="invoice-billed">
            <h2 id="billed-to">{t("invoice.billedTo")}</h2>
            {billedTo ? (
              <address>
                <strong>{billedTo.name}</strong><br />
                {billedTo.email}
                {billedTo.phone && <><br />{displayPhone(billedTo.phone)}</>}
              </address>
            ) : <p>{t("customer.sub", { id: inv.user_id })}</p>}
          </section>
          <dl className="facts invoice-facts">
            <div><dt>{t("invoice.issued")}</dt><dd>{formatDay(inv.issue_date, lang)}</dd></div>
            <div><dt>{t("invoice.dueDate")}</dt><dd>{formatDay(inv.due_date, lang)}</dd></div>
            <div><dt>{t("invoice.period")}</dt><dd>{formatDay(inv.period_start, lang)} – {formatDay(inv.period_end, lang)}</dd></div>
            <div>
              <dt>{t("invoice.booking")}</dt>
              <dd><Link to={`/bookings/${inv.booking_id}`}>{t("bookings.booking", { id: inv.booking_id })}</Link></dd>
            </div>
          </dl>
        </div>

        <table className="table invoice-lines">
          <caption className="sr-only">{t("invoice.lines")}</caption>
          <thead>
            <tr><th scope="col">{t("invoice.description")}</th><th scope="col" className="num">{t("invoice.amount")}</th></tr>
          </thead>
          <tbody>
            {inv.lines.map((line, i) => (
              <tr key={i} data-line-kind={line.kind}><td className="desc">{lineText(line, inv, t, lang)}</td><td className="num">{formatKES(line.amount)}</td></tr>
            ))}
          </tbody>
          <tfoot>
            <tr><th scope="row">{t("invoice.total")}</th><td className="num">{formatKES(inv.total)}</td></tr>
            <tr><th scope="row">{t("invoice.amountPaid")}</th><td className="num">{formatKES(inv.amount_paid)}</td></tr>
            {inv.amount_refunded > 0 && (
              <tr className="invoice-refunded"><th scope="row">{t("invoice.amountRefunded")}</th><td className="num">{formatKES(inv.amount_refunded)}</td></tr>
            )}
            <tr className="invoice-balance"><th scope="row">{t("invoice.balance")}</th><td className="num">{formatKES(inv.balance)}</td></tr>
          </tfoot>
        </table>

        {inv.payments.length > 0 && (
          <section aria-labelledby="invoice-payments">
            <h2 id="invoice-payments">{t("invoice.payments")}</h2>
            <ul className="plain-list">
              {inv.payments.map((p) => (
                <li key={p.payment_id}>
                  {methodLabel(p.method)}
                  {p.receipt && <> · {t("invoice.receipt", { receipt: p.receipt })}</>} · {formatKES(p.amount)}
                  {p.refunded > 0 && <> · {t("invoice.paymentRefunded", { amount: formatKES(p.refunded) })}</>}
                </li>
              ))}
            </ul>
          </section>
        )}
      </article>

      {payableBy(inv, user?.id) && (
        <section className="card no-print" aria-labelledby="invoice-pay">
          <h2 id="invoice-pay">{t("invoice.payTitle")}</h2>
          <p className="muted">{t("invoice.payText")}</p>
          <Link to={`/bookings/${inv.booking_id}`} className="btn btn-mpesa">{t("invoice.payLink")}</Link>
          <PaybillHowTo target={{ invoice: inv.number }} amount={inv.balance} onCheck={reload} />
        </section>
      )}
      {(promptable || prompting) && (
        <section className="card no-print stack-sm" aria-labelledby="invoice-prompt">
          <h2 id="invoice-prompt">{t("prompt.invoiceTitle")}</h2>
          {prompting ? (
            <LazyChunk>
              <MpesaPrompt target={{ invoice_id: inv.id }} bookingId={inv.booking_id} amount={inv.balance}
                customer={billedTo} title={t("prompt.titleInvoice", { number: inv.number })}
                onPaid={() => { setPaidByPrompt(true); void reload(); }} onClose={() => setPrompting(false)} />
            </LazyChunk>
          ) : (
            <>
              <p className="muted">{t("prompt.invoiceText")}</p>
              <button type="button" className="btn btn-mpesa" onClick={() => setPrompting(true)}>{t("prompt.send")}</button>
            </>
          )}
        </section>
      )}
    </div>
  );
}
