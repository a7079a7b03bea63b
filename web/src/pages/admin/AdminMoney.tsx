import { useEffect, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { api, errorOf, type ApiError, type paymentsSchemas } from "../../api/client";
import { act } from "../../lib/act";
import { useI18n } from "../../i18n/i18n";
import { useLoad } from "../../lib/useLoad";
import { formatInstant } from "../../lib/dates";
import { displayPhone } from "../../lib/phone";
import { formatKES } from "../../lib/money";
import { sayRefundReason } from "../../lib/refundReasons";
import { sayUnmatchedReason } from "./unmatchedReasons";
import { Price } from "../../components/Price";
import { Alert, ErrorAlert, PageTitle, SelectField, Spinner, StatusBadge } from "../../components/ui";
import type { MessageKey } from "../../i18n/messages";
import { AssignUnmatched, PaybillSection, usePaybillPayments } from "./PaybillMoney";
import { CashSection, useCashBook } from "./CashDesk";
import { NeedsYou, useAttention } from "./MoneyAttention";

type Refund = paymentsSchemas["RefundView"];
const REFUND_STATUSES = ["required", "approved", "paying", "paid", "failed"] as const;
type RefundStatus = (typeof REFUND_STATUSES)[number];

/** Money that needs an operator: refunds to approve (a cash one is handed back at the desk), money that matched
 *  nothing (Paybill money put on the right account), cash taken at the desk, what customers sent to the Paybill. */
export function AdminMoney() {
  const { t, lang } = useI18n();
  const [params, setParams] = useSearchParams();
  const asked = params.get("refunds") ?? "required";
  const status = (REFUND_STATUSES as readonly string[]).includes(asked) ? (asked as RefundStatus) : "all";
  const refunds = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/payments/refunds", {
      params: { query: status === "all" ? {} : { status } },
    });
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, [status]);
  const unmatched = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/payments/unmatched", {});
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, []);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const [unmatchedError, setUnmatchedError] = useState<ApiError | null>(null);
  const [assigned, setAssigned] = useState<string | null>(null);
  const paybill = usePaybillPayments();
  const cash = useCashBook();
  // "Needs you" (and the Money tab's count) is read again with the lists after each action, to stay in step.
  const attention = useAttention();
  const withAttention = <L extends { reload: () => Promise<void> }>(load: L): L =>
    ({ ...load, reload: async () => { await Promise.all([load.reload(), attention.reload()]); } });
  // Figures moved in the background (money came, a refund was paid): the lists that show them follow, quietly.
  const { refresh: refreshRefunds } = refunds;
  const { refresh: refreshUnmatched } = unmatched;
  const { refresh: refreshPaybill } = paybill;
  useEffect(() => {
    const lists = attention.moved.lists;
    if (lists.includes("refunds")) void refreshRefunds();
    if (lists.includes("unmatched")) void refreshUnmatched();
    if (lists.includes("paybill")) void refreshPaybill();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [attention.moved]);

  // A cash refund is paid at once when approved (the operator handed the money back): it is in the cash book too.
  // Money leaves at once (M-PESA B2C to the phone, or the drawer's notes): the operator says yes to the amount first.
  const approve = async ({ id, method, amount, phone_number }: Refund) => {
    const money = { amount: formatKES(amount), id };
    const question = method === "cash" ? t("money.paidBackCashConfirm", money)
      : method === "card" ? t("money.approveCardConfirm", money)
        : t("money.approveConfirm", { ...money, phone: displayPhone(phone_number) });
    if (!window.confirm(question)) return;
    setBusy(id);
    setError(null);
    const { error: err } = await act(() => api.POST("/api/payments/refunds/{refund_id}/approve", {
      params: { path: { refund_id: id } },
    }));
    if (err) setError(err);
    await Promise.all([refunds.reload(), method === "cash" ? cash.reload() : null, attention.reload()]);
    setBusy(null);
  };

  const refundUnmatched = async (id: number) => {
    setBusy(-id);
    setUnmatchedError(null);
    setAssigned(null);
    const { error: err } = await act(() => api.POST("/api/payments/unmatched/{unmatched_id}/refund", {
      params: { path: { unmatched_id: id } },
    }));
    if (err) setUnmatchedError(err);
    await Promise.all([unmatched.reload(), refunds.reload(), attention.reload()]);
    setBusy(null);
  };

  return (
    <div className="stack">
      <PageTitle sub={t("money.sub")}>{t("money.title")}</PageTitle>
      <NeedsYou waiting={attention} />
      <section className="stack-sm" aria-labelledby="refunds">
        <div className="section-head">
          <h2 id="refunds" tabIndex={-1}>{t("money.refunds")}</h2>
          <SelectField label={t("unit.status")} value={status}
            onChange={(e) => setParams(new URLSearchParams({ refunds: e.target.value }))}>
            <option value="all">{t("admin.all")}</option>
            {REFUND_STATUSES.map((s) => <option key={s} value={s}>{t(`refund.${s}` as MessageKey)}</option>)}
          </SelectField>
        </div>
        <ErrorAlert error={error ?? refunds.error} />
        {refunds.loading && !refunds.data ? <Spinner label={t("common.loading")} /> : refunds.data?.length === 0 ? (
          <p className="empty">{t("money.noRefunds")}</p>
        ) : (
          <div className="table-wrap" role="region" aria-label={t("money.refunds")} tabIndex={0}>
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">#</th><th scope="col">{t("money.booking")}</th><th scope="col">{t("money.amount")}</th>
                  <th scope="col">{t("money.reason")}</th><th scope="col">{t("money.phone")}</th>
                  <th scope="col">{t("unit.status")}</th><th scope="col">{t("money.when")}</th>
                  <th scope="col"><span className="sr-only">{t("admin.actions")}</span></th>
                </tr>
              </thead>
              <tbody>
                {refunds.data?.map((r) => (
                  <tr key={r.id} data-refund-id={r.id}>
                    <th scope="row">{r.id}</th>
                    <td>{r.booking_id ?? "—"}</td>
                    <td><Price amount={r.amount} /></td>
                    <td className="wrap">{sayRefundReason(r.reason, t)}{r.failure_reason ? ` — ${r.failure_reason}` : ""}</td>
                    <td>{r.method === "cash" ? t("method.cash") : displayPhone(r.phone_number)}</td>
                    <td><StatusBadge status={r.status} />{r.receipt ? ` ${r.receipt}` : ""}</td>
                    <td>{formatInstant(r.created_at, lang)}</td>
                    <td>{(r.status === "required" || r.status === "failed") && (
                      <button type="button" className="btn btn-small btn-primary" disabled={busy === r.id} onClick={() => approve(r)}>
                        {r.method === "cash" ? t("money.paidBackCash") : t("money.approve")}<span className="sr-only"> {t("money.refundNo", { id: r.id })}</span>
                      </button>
                    )}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="stack-sm" aria-labelledby="unmatched">
        <h2 id="unmatched" tabIndex={-1}>{t("money.unmatched")}</h2>
        <p className="muted">{t("money.unmatchedSub")}</p>
        <ErrorAlert error={unmatchedError ?? unmatched.error} />
        {assigned && <Alert kind="success">{assigned}</Alert>}
        {unmatched.data?.length === 0 ? <p className="empty">{t("money.noUnmatched")}</p> : (
          <ul className="list">
            {unmatched.data?.map((u) => (
              <li key={u.id} className="card list-item">
                <div className="list-main">
                  <p className="list-title">{sayUnmatchedReason(u.reason, t)}</p>
                  <p className="muted">
                    {[u.source, u.receipt, u.reference, displayPhone(u.phone_number), u.booking_id ? t("bookings.booking", { id: u.booking_id }) : null]
                      .filter(Boolean).join(" · ")}
                  </p>
                  <p className="muted">{formatInstant(u.created_at, lang)}</p>
                </div>
                <div className="list-side">
                  {u.amount !== null && <Price amount={u.amount} />}
                  {u.refund_id ? <span className="muted">{t("money.refundNo", { id: u.refund_id })}</span> : (
                    <>
                      {u.source === "paybill" && (
                        <AssignUnmatched unmatchedId={u.id} label={u.receipt ?? u.reference ?? `#${u.id}`}
                          onAssigned={async (message) => {
                            setAssigned(message);
                            await Promise.all([unmatched.reload(), paybill.reload(), attention.reload()]);
                          }} />
                      )}
                      <button type="button" className="btn btn-small btn-secondary" disabled={busy === -u.id} onClick={() => refundUnmatched(u.id)}>
                        {t("money.toRefund")}<span className="sr-only"> {u.receipt ?? u.reference ?? `#${u.id}`}</span>
                      </button>
                    </>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
      <CashSection book={withAttention(cash)} />
      <PaybillSection payments={withAttention(paybill)} />
    </div>
  );
}
