import { useState, type FormEvent } from "react";
import { Link, useLocation, useParams } from "react-router-dom";
import { api, errorOf, type ApiError } from "../../api/client";
import { act } from "../../lib/act";
import { useSession } from "../../auth/session";
import { useI18n } from "../../i18n/i18n";
import type { MessageKey } from "../../i18n/messages";
import { useLoad } from "../../lib/useLoad";
import type { CustomerDetail } from "../../lib/customerNames";
import { daysBetween, formatDay, formatInstant, nairobiDate } from "../../lib/dates";
import { displayPhone, normalizeKenyanPhone } from "../../lib/phone";
import { closeWarning, loadLiveRecords } from "../../lib/liveRentals";
import { ERASE_WORD, eraseConfirmed, eraseOffer, erasureAskedAt, holdReasons } from "../../lib/erasure";
import { Alert, ErrorAlert, PageTitle, Spinner, TextField } from "../../components/ui";
import { NotFoundPage } from "../NotFoundPage";
import { RoleBadge } from "./customerParts";
import { MessageList } from "../../components/MessageList";
import { BookForCustomer } from "./BookForCustomer";

type Answer = { data?: { data: CustomerDetail }; error?: unknown; response: Response };
type Action = { confirm: MessageKey; done: MessageKey; call: (userId: number) => Promise<Answer> };

const ACTIONS = {
  makeAdmin: {
    confirm: "customer.confirmMakeAdmin", done: "customer.madeAdmin",
    call: (id) => api.PATCH("/api/auth/users/{user_id}", { params: { path: { user_id: id } }, body: { role: "admin" } }),
  },
  makeCustomer: {
    confirm: "customer.confirmMakeCustomer", done: "customer.madeCustomer",
    call: (id) => api.PATCH("/api/auth/users/{user_id}", { params: { path: { user_id: id } }, body: { role: "user" } }),
  },
  signOut: {
    confirm: "customer.confirmSignOut", done: "customer.signedOut",
    call: (id) => api.POST("/api/auth/users/{user_id}/sign-out", { params: { path: { user_id: id } } }),
  },
  close: {
    confirm: "customer.confirmClose", done: "customer.closed",
    call: (id) => api.POST("/api/auth/users/{user_id}/close", { params: { path: { user_id: id } } }),
  },
  reopen: {
    confirm: "customer.confirmReopen", done: "customer.reopened",
    call: (id) => api.POST("/api/auth/users/{user_id}/reopen", { params: { path: { user_id: id } } }),
  },
  // An erased account erased again: nothing changes, every service is told again (after a restore from a backup).
  announceErasure: {
    confirm: "customer.confirmAnnounceErasure", done: "customer.erasureAnnounced",
    call: (id) => api.POST("/api/auth/users/{user_id}/erase", { params: { path: { user_id: id } } }),
  },
  liftGuard: {
    confirm: "customer.confirmLiftGuard", done: "customer.guardLifted",
    call: (id) => api.DELETE("/api/auth/users/{user_id}/login-guard", { params: { path: { user_id: id } } }),
  },
} satisfies Record<string, Action>;
type ActionName = keyof typeof ACTIONS;

/** One customer: how to reach them, how they sign in, what an operator may do about it, and their records. */
export function AdminCustomer() {
  const { customerId } = useParams();
  const id = Number(customerId);
  return Number.isSafeInteger(id) && id > 0 && String(id) === customerId ? <CustomerPage id={id} /> : <NotFoundPage />;
}

function CustomerPage({ id }: { id: number }) {
  const { t, lang } = useI18n();
  const { user } = useSession();
  const detail = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/auth/users/{user_id}", { params: { path: { user_id: id } } });
    return data ? { data: data.data } : { error: errorOf(error, response.status, response) };
  }, [id]);
  const [busy, setBusy] = useState<ActionName | "sendLink" | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const opened = (useLocation().state as { opened?: boolean } | null)?.opened === true; // just opened here
  const [done, setDone] = useState<string | null>(null);
  const [erasing, setErasing] = useState(false);
  const c = detail.data;
  const own = user?.id === id;

  // A customer who cannot log in: the same emailed link as "Forgot your password?" (auth limits it to a few an hour
  // and answers 202 whatever happens, so the message says it is on its way).
  const sendLink = async () => {
    if (!c || !window.confirm(t("customer.confirmSendLink", { email: c.email }))) return;
    setBusy("sendLink");
    setError(null);
    setDone(null);
    try {
      const { error: err, response } = await api.POST("/api/auth/password-reset", { body: { email: c.email } });
      if (response.ok) setDone(t("customer.linkSent", { email: c.email }));
      else setError(errorOf(err, response.status, response));
    } catch {
      setError({ message: "", status: 0 });
    } finally {
      setBusy(null);
    }
  };

  const run = async (name: ActionName) => {
    if (!c) return;
    const action: Action = ACTIONS[name];
    let question = t(action.confirm, { name: c.name });
    if (name === "close") { // billing goes on for a live rental, which they could no longer log in to pay
      setBusy(name);
      question = `${question} ${closeWarning(await loadLiveRecords(id), t)}`.trim();
      setBusy(null);
    }
    if (!window.confirm(question)) return;
    setBusy(name);
    setError(null);
    setDone(null);
    try {
      const { data, error: err, response } = await action.call(id);
      if (data) {
        detail.setData(data.data);
        setDone(t(action.done, { name: data.data.name }));
      } else setError(errorOf(err, response.status, response));
    } catch {
      setError({ message: "", status: 0 });
    } finally {
      setBusy(null);
    }
  };

  const back = <p><Link to="/admin/customers" className="back-link"><span aria-hidden="true">← </span>{t("admin.customers")}</Link></p>;
  if (!c) {
    return (
      <div className="stack">
        {back}
        <ErrorAlert error={detail.error} />
        {detail.loading && <Spinner label={t("common.loading")} />}
      </div>
    );
  }
  // An erased account is never edited, its role never changed and it is never reopened (auth answers 409).
  const erased = c.erased_at !== null;
  const offer = eraseOffer(c, user?.id);
  const askedAt = erasureAskedAt(c);
  const askedDays = askedAt ? daysBetween(nairobiDate(new Date(askedAt)), nairobiDate()) : 0; // its age: answer soon
  const guarded = c.login_guarded_until !== null && new Date(c.login_guarded_until).getTime() > Date.now();
  const button = (name: ActionName, label: MessageKey, kind = "btn-secondary") => (
    <button type="button" className={`btn ${kind}`} disabled={busy !== null} onClick={() => void run(name)}>{t(label)}</button>
  );

  return (
    <div className="stack">
      {back}
      <PageTitle sub={t("customer.sub", { id: c.id })}>{c.name}</PageTitle>
      {opened && !done && <Alert kind="success">{t("customer.opened", { name: c.name, email: c.email })}</Alert>}
      {done && <Alert kind="success">{done}</Alert>}
      <ErrorAlert error={error ?? detail.error} />
      {c.erased_at && (
        <Alert kind="info" title={t("customer.erasedOn", { date: formatDay(nairobiDate(new Date(c.erased_at)), lang) })}>
          {t("customer.erasedWhy", { id: c.id })}
        </Alert>
      )}
      <div className="two-col">
        <section className="card" aria-labelledby="customer-details">
          <h2 id="customer-details">{t("customer.details")}</h2>
          <dl className="facts">
            <div><dt>{t("customers.email")}</dt><dd>{erased ? c.email : <a href={`mailto:${c.email}`}>{c.email}</a>}</dd></div>
            <div><dt>{t("customers.phone")}</dt><dd>{c.phone ? <a href={`tel:+${c.phone}`}>{displayPhone(c.phone)}</a> : "—"}</dd></div>
            <div><dt>{t("customers.role")}</dt><dd><RoleBadge role={c.role} /></dd></div>
            {c.closed_at && (
              <div><dt>{t("customer.account")}</dt><dd><span className="badge badge-bad">{t("customer.closedOn", { time: formatInstant(c.closed_at, lang) })}</span></dd></div>
            )}
            {askedAt && (
              <div>
                <dt>{t("customer.erasure")}</dt>
                <dd><span className="badge badge-warn">
                  {t(askedDays === 0 ? "customer.erasureAskedToday" : "customer.erasureAskedOn",
                    { date: formatDay(nairobiDate(new Date(askedAt)), lang), days: askedDays })}
                </span></dd>
              </div>
            )}
            <div><dt>{t("customers.joined")}</dt><dd>{formatDay(nairobiDate(new Date(c.created_at)), lang)}</dd></div>
            <div><dt>{t("customer.lastLogin")}</dt><dd>{c.last_login_at ? formatInstant(c.last_login_at, lang) : t("customer.never")}</dd></div>
            <div><dt>{t("customer.sessions")}</dt><dd>{c.active_sessions}</dd></div>
            <div>
              <dt>{t("customer.guard")}</dt>
              <dd>{guarded && c.login_guarded_until
                ? <span className="badge badge-bad">{t("customer.guardOn", { time: formatInstant(c.login_guarded_until, lang) })}</span>
                : t("customer.guardOff")}</dd>
            </div>
          </dl>
          {guarded && <p className="muted">{t("customer.guardWhy")}</p>}
          {askedAt && <p className="muted">{t("customer.erasureAskedWhy")}</p>}
          {!erased && (
            <CorrectDetails customer={c} onSaved={(saved) => { detail.setData(saved); setDone(t("customer.detailsSaved")); }} />
          )}
          <div className="actions">
            {own ? <p className="muted">{t("customer.yourAccount")}</p>
              : erased ? null
              : c.role === "admin" ? button("makeCustomer", "customer.makeCustomer") : button("makeAdmin", "customer.makeAdmin")}
            {!c.closed_at && button("signOut", "customer.signOut")}
            {!c.closed_at && (
              <button type="button" className="btn btn-secondary" disabled={busy !== null} onClick={() => void sendLink()}>
                {t("customer.sendLink")}
              </button>
            )}
            {guarded && button("liftGuard", "customer.liftGuard", "btn-primary")}
            {!own && !erased && (c.closed_at ? button("reopen", "customer.reopen") : button("close", "customer.close", "btn-danger"))}
            {!own && erased && button("announceErasure", "customer.announceErasure")}
            {offer === "erase" && !erasing && (
              <button type="button" className="btn btn-danger" disabled={busy !== null}
                onClick={() => { setErasing(true); setDone(null); setError(null); }}>
                {t("customer.erase")}
              </button>
            )}
          </div>
          {offer === "closeFirst" && <p className="muted">{t("customer.eraseCloseFirst")}</p>}
          {!own && erased && <p className="muted">{t("customer.announceErasureWhy")}</p>}
          {offer === "erase" && erasing && (
            <EraseData customer={c} onCancel={() => setErasing(false)} onErased={(account) => {
              setErasing(false);
              detail.setData(account);
              setDone(t("customer.erasedDone", { id: account.id }));
            }} />
          )}
        </section>
        <section className="card" aria-labelledby="customer-records">
          <h2 id="customer-records">{t("customer.records")}</h2>
          <ul className="plain-list">
            <li><Link to={`/admin/bookings?user_id=${c.id}`}>{t("admin.bookings")}</Link></li>
            <li><Link to={`/admin/invoices?user_id=${c.id}`}>{t("admin.invoices")}</Link></li>
            <li><Link to={`/admin/transport?user_id=${c.id}`}>{t("customer.transport")}</Link></li>
          </ul>
        </section>
      </div>
      {!c.closed_at && <BookForCustomer customer={c} />}
      <CustomerMessages key={c.erased_at ?? ""} id={c.id} />
    </div>
  );
}

/** Erasing a closed customer's personal data (Kenya's Data Protection Act, s.40): what happens, in plain words, and
 *  the word to type before the button is enabled. Auth refuses while something still needs the data (a live booking,
 *  money in flight, a refund owed, an open invoice): each reason is listed for the operator to settle. */
function EraseData({ customer, onCancel, onErased }: {
  customer: CustomerDetail; onCancel: () => void; onErased: (account: CustomerDetail) => void;
}) {
  const { t } = useI18n();
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const reasons = holdReasons(error);

  const erase = async (e: FormEvent) => {
    e.preventDefault();
    if (!eraseConfirmed(typed)) return;
    setBusy(true);
    setError(null);
    try {
      const { data, error: err, response } = await api.POST("/api/auth/users/{user_id}/erase", {
        params: { path: { user_id: customer.id } },
      });
      if (data) onErased(data.data);
      else setError(errorOf(err, response.status, response));
    } catch {
      setError({ message: "", status: 0 });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="stack-sm erase-data" onSubmit={erase} aria-label={t("customer.eraseTitle", { name: customer.name })} noValidate>
      <h3>{t("customer.eraseTitle", { name: customer.name })}</h3>
      <p>{t("customer.eraseWhat", { id: customer.id })}</p>
      <TextField label={t("customer.eraseType", { word: ERASE_WORD })} autoComplete="off" autoCapitalize="characters"
        spellCheck={false} value={typed} onChange={(e) => setTyped(e.target.value)} />
      {reasons.length > 0 ? (
        <Alert kind="error" title={t("err.eraseHeld")}>
          <ul>
            {reasons.map((r) => (
              <li key={`${r.kind}:${r.message}`}>{r.kind && `${t(`customer.holdKind.${r.kind}`)}: `}{r.message}</li>
            ))}
          </ul>
          <p>{t("customer.eraseSettle")}</p>
        </Alert>
      ) : <ErrorAlert error={error} />}
      <div className="actions">
        <button type="submit" className="btn btn-danger" disabled={busy || !eraseConfirmed(typed)}>
          {busy ? t("common.wait") : t("customer.eraseConfirm")}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel}>{t("customer.cancelEdit")}</button>
      </div>
    </form>
  );
}

/** An operator corrects a customer's name, email or phone (a typo at the desk, a new number): the rules of
 *  registration; only what changed is sent. */
function CorrectDetails({ customer, onSaved }: { customer: CustomerDetail; onSaved: (saved: CustomerDetail) => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ name: "", email: "", phone: "" });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const phone = normalizeKenyanPhone(form.phone);

  const start = () => {
    setForm({ name: customer.name, email: customer.email, phone: customer.phone ? displayPhone(customer.phone) : "" });
    setError(null);
    setOpen(true);
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!phone || !form.name.trim()) return;
    const body: { name?: string; email?: string; phone?: string } = {};
    if (form.name.trim() !== customer.name) body.name = form.name.trim();
    if (form.email.trim().toLowerCase() !== customer.email) body.email = form.email.trim();
    if (phone !== customer.phone) body.phone = phone;
    if (Object.keys(body).length === 0) {
      setOpen(false);
      return;
    }
    setBusy(true);
    setError(null);
    const { data, error: err } = await act(() => api.PATCH("/api/auth/users/{user_id}", {
      params: { path: { user_id: customer.id } }, body,
    }));
    setBusy(false);
    if (!data) {
      setError(err ?? null);
      return;
    }
    setOpen(false);
    onSaved(data.data);
  };

  if (!open) {
    return <p><button type="button" className="btn btn-ghost" onClick={start}>{t("customer.correct")}</button></p>;
  }
  return (
    <form className="stack-sm" onSubmit={save} aria-label={t("customer.correct")} noValidate>
      <TextField label={t("field.name")} required maxLength={100} value={form.name}
        onChange={(e) => setForm({ ...form, name: e.target.value })} />
      <TextField label={t("field.email")} type="email" required value={form.email}
        onChange={(e) => setForm({ ...form, email: e.target.value })} />
      <TextField label={t("field.phone")} type="tel" inputMode="tel" required value={form.phone}
        error={phone ? undefined : t("signup.phoneError")} onChange={(e) => setForm({ ...form, phone: e.target.value })} />
      <ErrorAlert error={error} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy || !phone || !form.name.trim()}>
          {busy ? t("common.wait") : t("customer.saveDetails")}
        </button>
        <button type="button" className="btn btn-ghost" onClick={() => setOpen(false)}>{t("customer.cancelEdit")}</button>
      </div>
    </form>
  );
}

const MESSAGES_SHOWN = 20;

/** The last SMS and emails sent to the customer (notifications, admin view): "did they get the reminder?" */
function CustomerMessages({ id }: { id: number }) {
  const { t } = useI18n();
  const messages = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/notifications", {
      params: { query: { user_id: id, limit: MESSAGES_SHOWN } },
    });
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, [id]);
  return (
    <section aria-labelledby="customer-messages">
      <h2 id="customer-messages" className="section-title">{t("customer.messages", { count: MESSAGES_SHOWN })}</h2>
      <ErrorAlert error={messages.error} />
      {messages.loading && !messages.data ? <Spinner label={t("common.loading")} /> : messages.data?.length === 0 ? (
        <p className="empty">{t("customer.noMessages")}</p>
      ) : (
        <MessageList messages={messages.data ?? []} showTo />
      )}
    </section>
  );
}
