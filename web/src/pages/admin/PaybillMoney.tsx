// The console's Paybill (M-PESA C2B): what customers sent from their phone's menu and what it paid, registering the
// Paybill's URLs with M-PESA and for Pull Transactions (which finds payments whose confirmation never came), claiming
// one by its receipt, and putting money whose account number named nothing on the right account.
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { api, errorOf, type ApiError, type paymentsSchemas } from "../../api/client";
import { act } from "../../lib/act";
import { useI18n } from "../../i18n/i18n";
import { useLoad } from "../../lib/useLoad";
import { formatInstant } from "../../lib/dates";
import { pullOutcome } from "../../lib/paybill";
import { Price } from "../../components/Price";
import { Alert, ErrorAlert, Spinner, StatusBadge, TextField } from "../../components/ui";

type PaybillPayment = paymentsSchemas["PaybillPaymentView"];
type Registered = paymentsSchemas["PaybillRegistered"];
type PullState = paymentsSchemas["PaybillPullView"];

/** GET /api/payments/paybill/payments (the latest 200, newest first). */
export function usePaybillPayments() {
  return useLoad(async () => {
    const { data, error, response } = await api.GET("/api/payments/paybill/payments", {});
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, []);
}

/** The Paybill section: the register button and the list of Paybill money. */
export function PaybillSection({ payments }: { payments: ReturnType<typeof usePaybillPayments> }) {
  const { t, lang } = useI18n();
  return (
    <section className="stack-sm" aria-labelledby="paybill">
      <h2 id="paybill" tabIndex={-1}>{t("money.paybill")}</h2>
      <p className="muted">{t("money.paybillSub")}</p>
      <RegisterPaybill />
      <LostConfirmations />
      <ClaimPaybill onClaimed={payments.reload} />
      <ErrorAlert error={payments.error} />
      {payments.loading && !payments.data ? <Spinner label={t("common.loading")} /> : payments.data?.length === 0 ? (
        <p className="empty">{t("money.noPaybill")}</p>
      ) : payments.data && (
        <div className="table-wrap" role="region" aria-label={t("money.paybill")} tabIndex={0}>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t("money.receipt")}</th>
                <th scope="col">{t("money.accountTyped")}</th><th scope="col">{t("money.amount")}</th>
                <th scope="col">{t("money.payer")}</th><th scope="col">{t("unit.status")}</th>
                <th scope="col">{t("money.paidFor")}</th>
              </tr>
            </thead>
            <tbody>
              {payments.data.map((p) => (
                <tr key={p.id} data-receipt={p.receipt}>
                  <th scope="row">
                    {p.receipt}
                    <span className="paybill-when"><span className="sr-only">{t("money.paidAt")}: </span>
                      {formatInstant(p.paid_at ?? p.created_at, lang)}</span>
                  </th>
                  <td><code>{p.account}</code></td>
                  <td>{p.amount === null ? "—" : <Price amount={p.amount} />}</td>
                  <td className="paybill-cell">{[p.payer_name, p.msisdn].filter(Boolean).join(" · ") || "—"}</td>
                  <td className="paybill-cell">
                    <StatusBadge status={p.status} />
                    {p.note && <span className="paybill-note"><span className="sr-only">{t("money.note")}: </span>{p.note}</span>}
                  </td>
                  <td><PaidFor payment={p} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Where applied money went: the invoice's page, or the booking's (an operator reads any booking there). */
function PaidFor({ payment: p }: { payment: PaybillPayment }) {
  const { t } = useI18n();
  if (p.status !== "applied") return null;
  if (p.invoice_id) return <Link to={`/invoices/${p.invoice_id}`}>{t("money.invoiceNo", { id: p.invoice_id })}</Link>;
  if (p.booking_id) return <Link to={`/bookings/${p.booking_id}`}>{t("bookings.booking", { id: p.booking_id })}</Link>;
  return null;
}

/** POST /api/payments/paybill/register: M-PESA's answer, or why it was refused. */
function RegisterPaybill() {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<Registered | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const register = async () => {
    setBusy(true);
    setError(null);
    setDone(null);
    const { data, error: err } = await act(() => api.POST("/api/payments/paybill/register", {}));
    if (data) setDone(data.data);
    else if (err) setError(err);
    setBusy(false);
  };
  return (
    <div className="card stack-sm">
      <p className="muted">{t("money.registerText")}</p>
      <div>
        <button type="button" className="btn btn-secondary" disabled={busy} onClick={() => void register()}>
          {busy ? t("common.wait") : t("money.register")}
        </button>
      </div>
      <ErrorAlert error={error} />
      {done && (
        <Alert kind="success">
          <p>{t("money.registered", { number: done.business_number, answer: done.answer })}</p>
          <p className="wrap">{t("money.registeredUrls", {
            confirmation: done.confirmation_url, validation: done.validation_url, type: done.response_type,
          })}</p>
        </Alert>
      )}
    </div>
  );
}

/** GET /api/payments/paybill/pull: the Pull Transactions registration and its last pull, or null when the Paybill is
 *  not registered for it (404). */
function usePullState() {
  return useLoad(async (): Promise<{ data?: PullState | null; error?: ApiError }> => {
    const { data, error, response } = await api.GET("/api/payments/paybill/pull", {});
    if (data) return { data: data.data };
    return response.status === 404 ? { data: null } : { error: errorOf(error, response.status) };
  }, []);
}

/** Lost confirmations: once registered for Pull Transactions, a job lists the Paybill's payments and takes those whose
 *  confirmation never came; until then, the form that registers it with the organisation's Safaricom number. */
function LostConfirmations() {
  const { t } = useI18n();
  const pull = usePullState();
  const [answer, setAnswer] = useState<string | null>(null);
  return (
    <section className="card stack-sm" aria-labelledby="paybill-pull">
      <h3 id="paybill-pull">{t("money.pull")}</h3>
      <ErrorAlert error={pull.error} />
      {pull.data === undefined ? (pull.loading && <Spinner label={t("common.loading")} />) : pull.data === null ? (
        <RegisterPull onRegistered={(state) => { setAnswer(state.answer ?? ""); pull.setData(state); }} />
      ) : (
        <PullSummary pull={pull.data} />
      )}
      {answer !== null && pull.data && (
        <Alert kind="success"><p>{t("money.pullRegistered", { number: pull.data.business_number, answer })}</p></Alert>
      )}
    </section>
  );
}

function PullSummary({ pull }: { pull: PullState }) {
  const { t, lang } = useI18n();
  const outcome = pullOutcome(pull);
  return (
    <>
      <p className="muted">{t("money.pullText")}</p>
      <dl className="facts">
        <div><dt>{t("money.pullListed")}</dt><dd>{formatInstant(pull.pulled_until, lang)}</dd></div>
        <div><dt>{t("money.pullNominated")}</dt><dd>{pull.nominated_number}</dd></div>
        <div><dt>{t("money.pullLast")}</dt><dd>{
          outcome === "pending" ? t("money.pullPending")
            : pull.last_found === 0 ? t("money.pullFoundNone")
              : pull.last_found === 1 ? t("money.pullFoundOne") : t("money.pullFound", { count: pull.last_found })
        }</dd></div>
      </dl>
      {pull.last_error && <Alert kind="error" title={t("money.pullFailed")}><p>{pull.last_error}</p></Alert>}
    </>
  );
}

/** POST /api/payments/paybill/pull with the nominated number: the registered state, or the server's reason. */
function RegisterPull({ onRegistered }: { onRegistered: (state: PullState) => void }) {
  const { t } = useI18n();
  const [nominated, setNominated] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const { data, error: err } = await act(() => api.POST("/api/payments/paybill/pull", {
      body: { nominated_number: nominated.trim() },
    }));
    setBusy(false);
    if (data) onRegistered(data.data);
    else if (err) setError(err);
  };
  return (
    <form className="stack-sm" onSubmit={submit}>
      <p className="muted">{t("money.pullRegisterText")}</p>
      <div className="paybill-form">
        <TextField label={t("money.pullNominated")} hint={t("money.pullNominatedHint")} value={nominated} type="tel"
          autoComplete="off" maxLength={16} required onChange={(e) => setNominated(e.target.value)} />
        <button type="submit" className="btn btn-small btn-secondary" disabled={busy || !nominated.trim()}>
          {busy ? t("common.wait") : t("money.pullRegister")}
        </button>
      </div>
      <ErrorAlert error={error} />
    </form>
  );
}

/** POST /api/payments/paybill/claims: a customer shows the M-PESA SMS of a payment whose confirmation never came. */
function ClaimPaybill({ onClaimed }: { onClaimed: () => Promise<unknown> | void }) {
  const { t } = useI18n();
  const [receipt, setReceipt] = useState("");
  const [account, setAccount] = useState("");
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    const { data, error: err } = await act(() => api.POST("/api/payments/paybill/claims", {
      body: { receipt: receipt.trim(), account: account.trim() },
    }));
    setBusy(false);
    if (!data) {
      setError(err ?? null);
      return;
    }
    setDone(t("money.claimed", { receipt: data.data.receipt }));
    setReceipt("");
    setAccount("");
    await onClaimed();
  };
  return (
    <form className="card stack-sm" onSubmit={submit} aria-labelledby="paybill-claim">
      <h3 id="paybill-claim">{t("money.claim")}</h3>
      <p className="muted">{t("money.claimText")}</p>
      <div className="paybill-form">
        <TextField label={t("money.claimReceipt")} value={receipt} autoComplete="off" maxLength={10} required
          onChange={(e) => setReceipt(e.target.value)} />
        <TextField label={t("money.assignAccount")} hint={t("money.assignHint")} value={account} autoComplete="off"
          maxLength={40} required onChange={(e) => setAccount(e.target.value)} />
        <button type="submit" className="btn btn-small btn-secondary" disabled={busy || !receipt.trim() || !account.trim()}>
          {busy ? t("common.wait") : t("money.claimSubmit")}
        </button>
      </div>
      <ErrorAlert error={error} />
      {done && <Alert kind="success"><p>{done}</p></Alert>}
    </form>
  );
}

/** "Assign to account" for Paybill money whose account number named nothing: the account it was meant for. */
export function AssignUnmatched({ unmatchedId, label, onAssigned }: {
  unmatchedId: number; label: string; onAssigned: (message: string) => Promise<unknown> | void;
}) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [account, setAccount] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  if (!open) {
    return (
      <button type="button" className="btn btn-small btn-primary" onClick={() => setOpen(true)}>
        {t("money.assign")}<span className="sr-only"> {label}</span>
      </button>
    );
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const typed = account.trim();
    if (!typed) return;
    setBusy(true);
    setError(null);
    const { data, error: err } = await act(() => api.POST("/api/payments/unmatched/{unmatched_id}/assign", {
      params: { path: { unmatched_id: unmatchedId } }, body: { account: typed },
    }));
    setBusy(false);
    if (!data) {
      setError(err ?? null);
      return;
    }
    setOpen(false);
    setAccount("");
    await onAssigned(t("money.assigned", { account: typed.toUpperCase(), receipt: data.data.receipt ?? "—" }));
  };
  return (
    <form className="stack-sm" onSubmit={submit} aria-label={`${t("money.assign")} ${label}`}>
      <div className="paybill-form">
        <TextField label={t("money.assignAccount")} hint={t("money.assignHint")} value={account} autoComplete="off"
          maxLength={40} required onChange={(e) => setAccount(e.target.value)} />
        <button type="submit" className="btn btn-small btn-primary" disabled={busy || !account.trim()}>
          {busy ? t("common.wait") : t("money.assignSubmit")}
        </button>
        <button type="button" className="btn btn-small btn-ghost" onClick={() => { setOpen(false); setError(null); }}>
          {t("admin.cancel")}
        </button>
      </div>
      <ErrorAlert error={error} />
    </form>
  );
}
