import { Fragment } from "react";
import { Link } from "react-router-dom";
import { api, errorOf } from "../../api/client";
import { useI18n } from "../../i18n/i18n";
import { useFilterParams } from "../../lib/useFilterParams";
import { useLoad } from "../../lib/useLoad";
import { useCustomers } from "../../lib/customerNames";
import { invoiceBadge, owesBalance } from "../../lib/billing";
import { formatDay } from "../../lib/dates";
import { offsetParam } from "../../lib/paging";
import { formatKES } from "../../lib/money";
import { Price } from "../../components/Price";
import { ErrorAlert, PageTitle, SelectField, Spinner, StatusBadge } from "../../components/ui";
import type { MessageKey } from "../../i18n/messages";
import { PromptRow, useRowPrompts } from "./PromptRow";
import { Pager } from "../../components/Pager";

const STATUSES = ["open", "paid", "void"] as const;
const PAGE = 200;
type Status = (typeof STATUSES)[number];

/** Every invoice, filtered by status (and overdue, one rental or one customer), newest first, a page at a time. */
export function AdminInvoices() {
  const { t, lang } = useI18n();
  const [params, set] = useFilterParams();
  const asked = params.get("status") ?? "";
  const status = (STATUSES as readonly string[]).includes(asked) ? (asked as Status) : undefined;
  const overdue = params.get("overdue") === "true";
  const bookingId = Number(params.get("booking_id")) || undefined;
  const userId = Number(params.get("user_id")) || undefined;
  const offset = offsetParam(params.get("offset"));
  const invoices = useLoad(async () => {
    const query = {
      ...(status ? { status } : {}), ...(overdue ? { overdue: true } : {}), ...(bookingId ? { booking_id: bookingId } : {}),
      ...(userId ? { user_id: userId } : {}), limit: PAGE, offset,
    };
    const { data, error, response } = await api.GET("/api/invoices", { params: { query } });
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, [status, overdue, bookingId, userId, offset]);
  // One batch request for the customers of the rows shown (the phone an M-PESA prompt goes to) and the one filtered by.
  const customers = useCustomers([userId, ...(invoices.data?.map((i) => i.user_id) ?? [])]);
  const customer = userId ? customers.get(userId) : undefined;
  // Billing records an invoice's payment by a prompt on hearing of it: the list is read again until it shows it paid.
  const prompts = useRowPrompts(invoices.data, (i) => i.status === "open", invoices.reload);
  const sub = [
    bookingId ? t("bookings.booking", { id: bookingId }) : null,
    userId ? `${t("customer.sub", { id: userId })}${customer ? ` · ${customer.name}` : ""}` : null,
  ].filter(Boolean).join(" · ");

  return (
    <div className="stack">
      <PageTitle sub={sub || t("invoices.sub")}>{t("rental.invoices")}</PageTitle>
      <form className="card filters" aria-label={t("units.filters")} onSubmit={(e) => e.preventDefault()}>
        <SelectField label={t("unit.status")} value={status ?? ""} onChange={(e) => set({ status: e.target.value, offset: "" })}>
          <option value="">{t("admin.all")}</option>
          {STATUSES.map((s) => <option key={s} value={s}>{t(`status.invoice-${s}` as MessageKey)}</option>)}
        </SelectField>
        <label className="check">
          <input type="checkbox" checked={overdue} onChange={(e) => set({ overdue: e.target.checked ? "true" : "", offset: "" })} />
          {t("invoices.overdueOnly")}
        </label>
      </form>
      <ErrorAlert error={invoices.error} />
      {invoices.loading && !invoices.data ? <Spinner label={t("common.loading")} /> : invoices.data?.length === 0 ? (
        <p className="empty">{t("invoices.none")}</p>
      ) : (
        <div className="table-wrap" role="region" aria-label={t("rental.invoices")} tabIndex={0}>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t("invoices.number")}</th><th scope="col">{t("money.booking")}</th>
                <th scope="col">{t("invoices.period")}</th><th scope="col">{t("invoices.due")}</th>
                <th scope="col">{t("invoices.total")}</th><th scope="col">{t("rental.balance")}</th>
                <th scope="col">{t("unit.status")}</th>
                <th scope="col"><span className="sr-only">{t("admin.actions")}</span></th>
              </tr>
            </thead>
            <tbody>
              {invoices.data?.map((i) => (
                <Fragment key={i.id}>
                  <tr data-invoice-id={i.id}>
                    <th scope="row"><Link to={`/invoices/${i.id}`}>{i.number}</Link></th>
                    <td>#{i.booking_id}</td>
                    <td className="range"><span>{formatDay(i.period_start, lang)}</span> – <span>{formatDay(i.period_end, lang)}</span></td>
                    <td>{formatDay(i.due_date, lang)}{i.days_overdue > 0 && <> · <strong className="overdue">{t("rental.overdue", { n: i.days_overdue })}</strong></>}</td>
                    <td><Price amount={i.total} /></td>
                    <td><Price amount={i.balance} /></td>
                    <td><StatusBadge status={`invoice-${invoiceBadge(i)}`} />
                      {i.amount_refunded > 0 && <> <span className="muted">{t("invoice.paymentRefunded", { amount: formatKES(i.amount_refunded) })}</span></>}</td>
                    <td>{owesBalance(i) && prompts.open !== i.id && (
                      <button type="button" className="btn btn-small btn-mpesa" onClick={() => prompts.openFor(i.id)}
                        aria-label={t("prompt.forInvoice", { number: i.number })}>{t("prompt.send")}</button>
                    )}</td>
                  </tr>
                  {prompts.open === i.id && (
                    <PromptRow colSpan={8} target={{ invoice_id: i.id }} bookingId={i.booking_id} amount={i.balance}
                      customer={customers.get(i.user_id)} title={t("prompt.titleInvoice", { number: i.number })}
                      {...prompts.handlers(i.id)} />
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager label={t("invoices.pages")} offset={offset} rows={invoices.data?.length ?? 0} limit={PAGE}
        busy={invoices.loading} />
    </div>
  );
}
