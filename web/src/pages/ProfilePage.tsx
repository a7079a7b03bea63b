import { useEffect, useRef, useState, type FormEvent } from "react";
import { useI18n } from "../i18n/i18n";
import { useLoad } from "../lib/useLoad";
import { api, errorOf, type ApiError } from "../api/client";
import { tokens } from "../auth/tokens";
import { useSession } from "../auth/session";
import { displayPhone, normalizeKenyanPhone } from "../lib/phone";
import { newPasswordProblem } from "../lib/passwords";
import { collectMyData, downloadJson, myDataFileName } from "../lib/myData";
import { formatDay, nairobiDate } from "../lib/dates";
import { Alert, ErrorAlert, PageTitle, Spinner, TextField } from "../components/ui";

const WRONG_CURRENT_PASSWORD = "Current password is incorrect";

/** The owner changes the password: every other session ends and this one is replaced by the answer's. */
function ChangePasswordForm() {
  const { t } = useI18n();
  const { user, changePassword } = useSession();
  const [form, setForm] = useState({ current: "", next: "", repeat: "" });
  const [touched, setTouched] = useState(false);
  const [currentError, setCurrentError] = useState<string | null>(null); // the server's, on current_password
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const currentInput = useRef<HTMLInputElement>(null);
  const problem = newPasswordProblem(form.next, form.repeat);
  const currentMissing = form.current === "";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    setDone(false);
    if (problem || currentMissing) return;
    setBusy(true);
    setError(null);
    setCurrentError(null);
    const err = await changePassword(form.current, form.next).catch((): ApiError => ({ message: "", status: 0 }));
    setBusy(false);
    if (!err) {
      setForm({ current: "", next: "", repeat: "" });
      setTouched(false);
      setDone(true);
      return;
    }
    const onCurrent = err.status === 400 ? err.errors?.find((f) => f.field === "current_password") : undefined;
    if (onCurrent) {
      setCurrentError(onCurrent.message);
      currentInput.current?.focus();
    } else {
      setError(err);
    }
  };

  const currentFieldError = currentError !== null
    ? (currentError === WRONG_CURRENT_PASSWORD ? t("err.wrongCurrentPassword") : currentError)
    : touched && currentMissing ? t("password.currentMissing") : undefined;

  return (
    <form className="card stack-sm" onSubmit={submit} aria-labelledby="change-password" noValidate>
      <h2 id="change-password">{t("password.changeTitle")}</h2>
      {/* For password managers: the account whose password this is. */}
      <input type="text" name="username" autoComplete="username" value={user?.email ?? ""} readOnly hidden />
      <TextField ref={currentInput} label={t("password.current")} type="password" autoComplete="current-password"
        required value={form.current} error={currentFieldError}
        onChange={(e) => { setForm({ ...form, current: e.target.value }); setCurrentError(null); }} />
      <TextField label={t("password.new")} type="password" autoComplete="new-password" required value={form.next}
        hint={t("signup.passwordHint")} error={touched && problem === "short" ? t("signup.passwordError") : undefined}
        onChange={(e) => setForm({ ...form, next: e.target.value })} />
      <TextField label={t("password.repeat")} type="password" autoComplete="new-password" required value={form.repeat}
        error={touched && problem === "mismatch" ? t("password.mismatch") : undefined}
        onChange={(e) => setForm({ ...form, repeat: e.target.value })} />
      <ErrorAlert error={error} />
      {done && <Alert kind="success">{t("password.changed")}</Alert>}
      <button className="btn btn-primary btn-block" type="submit" disabled={busy}>
        {busy ? t("common.wait") : t("password.changeSubmit")}
      </button>
    </form>
  );
}

/** Sign out on every other device: every earlier session of the account ends; this one goes on. */
function OtherDevicesCard() {
  const { t } = useI18n();
  const { logoutEverywhereElse } = useSession();
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const go = async () => {
    if (!window.confirm(t("devices.confirm"))) return;
    setBusy(true);
    setError(null);
    setDone(false);
    const err = await logoutEverywhereElse().catch((): ApiError => ({ message: "", status: 0 }));
    setBusy(false);
    if (err) setError(err);
    else setDone(true);
  };

  return (
    <section className="card stack-sm" aria-labelledby="devices">
      <h2 id="devices">{t("devices.title")}</h2>
      <p className="muted">{t("devices.why")}</p>
      <ErrorAlert error={error} />
      {done && <Alert kind="success">{t("devices.done")}</Alert>}
      <button className="btn btn-secondary btn-block" type="button" disabled={busy} onClick={() => void go()}>
        {busy ? t("common.wait") : t("devices.submit")}
      </button>
    </section>
  );
}

/** A copy of everything Jesh Storage keeps about the customer, from every service, as one JSON file. */
function MyDataCard() {
  const { t } = useI18n();
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    setError(null);
    const now = new Date();
    const answer: { data?: Record<string, unknown>; error?: ApiError } = await collectMyData(now)
      .catch(() => ({ error: { message: "", status: 0 } }));
    setBusy(false);
    if (answer.data) downloadJson(answer.data, myDataFileName(nairobiDate(now)));
    else setError(answer.error ?? null);
  };
  return (
    <section className="card stack-sm" aria-labelledby="my-data">
      <h2 id="my-data">{t("myData.title")}</h2>
      <p className="muted">{t("myData.why")}</p>
      <ErrorAlert error={error} />
      <button className="btn btn-secondary btn-block" type="button" disabled={busy} onClick={() => void go()}>
        {busy ? t("common.wait") : t("myData.download")}
      </button>
    </section>
  );
}

/** The customer asks for their personal data to be erased (Kenya's Data Protection Act, s.40). Nothing is erased by
 *  asking: Jesh Storage's team settles what is open, closes the account and erases it from the console; until then the
 *  customer may withdraw. */
function ErasureRequestCard() {
  const { t, lang } = useI18n();
  const request = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/auth/profile/erasure-request", {});
    return data ? { data: data.data } : { error: errorOf(error, response.status, response) };
  }, []);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<"sent" | "withdrawn" | null>(null);
  const [busy, setBusy] = useState(false);
  const askedAt = request.data?.requested_at ?? null;

  const change = async (ask: boolean) => {
    if (ask && !window.confirm(t("erasure.confirm"))) return;
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const { data, error: err, response } = ask
        ? await api.POST("/api/auth/profile/erasure-request", {})
        : await api.DELETE("/api/auth/profile/erasure-request", {});
      if (data) {
        request.setData(data.data);
        setDone(ask ? "sent" : "withdrawn");
      } else setError(errorOf(err, response.status, response));
    } catch {
      setError({ message: "", status: 0 });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card stack-sm" aria-labelledby="erasure">
      <h2 id="erasure">{t("erasure.title")}</h2>
      <ErrorAlert error={error ?? request.error} />
      {!request.data ? (request.loading && <Spinner label={t("common.loading")} />) : askedAt ? (
        <>
          <p><strong>{t("erasure.askedOn", { date: formatDay(nairobiDate(new Date(askedAt)), lang) })}</strong></p>
          <p className="muted">{t("erasure.askedWhy")}</p>
          {done === "sent" && <Alert kind="success">{t("erasure.sent")}</Alert>}
          <button className="btn btn-secondary btn-block" type="button" disabled={busy} onClick={() => void change(false)}>
            {busy ? t("common.wait") : t("erasure.withdraw")}
          </button>
        </>
      ) : (
        <>
          <p className="muted">{t("erasure.what")}</p>
          <p className="muted">{t("erasure.kept")}</p>
          {done === "withdrawn" && <Alert kind="success">{t("erasure.withdrawn")}</Alert>}
          <button className="btn btn-secondary btn-block" type="button" disabled={busy} onClick={() => void change(true)}>
            {busy ? t("common.wait") : t("erasure.ask")}
          </button>
        </>
      )}
    </section>
  );
}

export function ProfilePage() {
  const { t, lang, setLang } = useI18n();
  const profile = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/auth/profile", {});
    return data ? { data } : { error: errorOf(error, response.status) };
  }, []);
  const [form, setForm] = useState({ name: "", email: "", phone: "" });
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (profile.data) {
      setForm({ name: profile.data.name, email: profile.data.email, phone: displayPhone(profile.data.phone) });
    }
  }, [profile.data]);
  const phone = normalizeKenyanPhone(form.phone);
  // An account may have no phone (the operator made at start-up): its field may stay empty, as the API keeps what it
  // is not sent. A phone once given cannot be taken off, only changed.
  const noPhone = profile.data?.phone == null && form.phone.trim() === "";
  const phoneOk = phone !== null || noPhone;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!profile.data || !phoneOk) return;
    const body: { name?: string; email?: string; phone?: string } = {};
    if (form.name.trim() !== profile.data.name) body.name = form.name.trim();
    if (form.email.trim().toLowerCase() !== profile.data.email) body.email = form.email.trim();
    if (phone && phone !== profile.data.phone) body.phone = phone;
    setError(null);
    setSaved(false);
    if (Object.keys(body).length === 0) { // nothing changed: nothing to send (the API refuses an empty change)
      setSaved(true);
      return;
    }
    setBusy(true);
    const result = await api.PATCH("/api/auth/profile", { body }).catch(() => null); // null: the network
    setBusy(false);
    if (!result?.data) {
      setError(result ? errorOf(result.error, result.response.status) : { message: "", status: 0 });
      return;
    }
    const data = result.data;
    profile.setData(data);
    const session = tokens.session;
    if (session) tokens.set({ ...session, user: { ...session.user, name: data.name, email: data.email, phone: data.phone } });
    setSaved(true);
  };

  return (
    <div className="narrow stack">
      <PageTitle sub={profile.data?.role === "admin" ? t("profile.admin") : t("profile.customer")}>{t("profile.title")}</PageTitle>
      <ErrorAlert error={profile.error} />
      {!profile.data ? <Spinner label={t("common.loading")} /> : (
        <form className="card stack-sm" onSubmit={save} aria-labelledby="me" noValidate>
          <h2 id="me">{t("profile.details")}</h2>
          <TextField label={t("field.name")} autoComplete="name" required maxLength={100} value={form.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })} />
          <TextField label={t("field.email")} type="email" autoComplete="email" required value={form.email}
            onChange={(e) => setForm({ ...form, email: e.target.value })} />
          <TextField label={t("field.phone")} type="tel" autoComplete="tel" inputMode="tel" required={!noPhone}
            value={form.phone} hint={t("signup.phoneHint")} error={phoneOk ? undefined : t("signup.phoneError")}
            onChange={(e) => setForm({ ...form, phone: e.target.value })} />
          <ErrorAlert error={error} />
          {saved && <Alert kind="success">{t("profile.saved")}</Alert>}
          <button className="btn btn-primary btn-block" type="submit" disabled={busy || !phoneOk || !form.name.trim()}>
            {busy ? t("common.wait") : t("profile.save")}
          </button>
        </form>
      )}
      <ChangePasswordForm />
      <OtherDevicesCard />
      <MyDataCard />
      {/* An operator's account is not erased (auth answers 409): an operator is made a customer first. */}
      {profile.data?.role === "user" && <ErasureRequestCard />}
      <section className="card" aria-labelledby="prefs">
        <h2 id="prefs">{t("profile.prefs")}</h2>
        <fieldset className="radio-group">
          <legend>{t("nav.language")}</legend>
          {(["en", "sw"] as const).map((l) => (
            <label key={l}>
              <input type="radio" name="lang" value={l} checked={lang === l} onChange={() => setLang(l)} />
              {l === "en" ? "English" : "Kiswahili"}
            </label>
          ))}
        </fieldset>
      </section>
    </div>
  );
}
