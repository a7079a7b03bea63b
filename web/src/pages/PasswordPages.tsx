// The password pages reached from an email or the login page's link, a chunk of their own (App.tsx): a visitor who
// only logs in or signs up does not fetch them.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useI18n } from "../i18n/i18n";
import { useSession } from "../auth/session";
import { tokens } from "../auth/tokens";
import { errorOf, publicApi, type ApiError } from "../api/client";
import { Alert, ErrorAlert, PageTitle, TextField } from "../components/ui";
import { newPasswordProblem, resetTokenFromHash } from "../lib/passwords";
import { homeOf, useNext, withNext } from "./AuthPages";

/** Forgot password: ask for a link by email. The answer is the same whether the account exists or not. */
export function ForgotPasswordPage() {
  const { t } = useI18n();
  const next = useNext();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const sentHeading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (sent) sentHeading.current?.focus(); // the form is gone: take the focus to what replaced it
  }, [sent]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const err = await publicApi.POST("/api/auth/password-reset", { body: { email: email.trim() } })
      .then(({ error: failure, response }) => (response.ok ? null : errorOf(failure, response.status, response)))
      .catch((): ApiError => ({ message: "", status: 0 }));
    setBusy(false);
    if (err) setError(err);
    else setSent(true);
  };

  return (
    <div className="narrow stack">
      <PageTitle sub={sent ? undefined : t("forgot.sub")}>{t("forgot.title")}</PageTitle>
      {sent ? (
        <section className="card stack-sm" aria-labelledby="forgot-sent">
          <h2 id="forgot-sent" ref={sentHeading} tabIndex={-1}>{t("forgot.sentTitle")}</h2>
          <p>{t("forgot.sent")}</p>
          <p className="center"><Link to={withNext("/login", next)}>{t("forgot.backToLogin")}</Link></p>
        </section>
      ) : (
        <form className="card stack-sm" onSubmit={submit}>
          <TextField label={t("field.email")} type="email" autoComplete="email" required value={email}
            onChange={(e) => setEmail(e.target.value)} />
          <ErrorAlert error={error} />
          <button className="btn btn-primary btn-block" type="submit" disabled={busy}>{busy ? t("common.wait") : t("forgot.submit")}</button>
          <p className="center"><Link to={withNext("/login", next)}>{t("forgot.backToLogin")}</Link></p>
        </form>
      )}
    </div>
  );
}

/**
 * The emailed link, `/reset-password#token=...`: choose a new password, which signs in. The token is taken from the
 * fragment once and the fragment dropped from the address bar, so that it stays in neither history nor a bookmark.
 */
export function ResetPasswordPage() {
  const { t } = useI18n();
  const { resetPassword } = useSession();
  const navigate = useNavigate();
  const [token] = useState(() => resetTokenFromHash(window.location.hash));
  useEffect(() => {
    if (window.location.hash) {
      window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
    }
  }, []);
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const problem = newPasswordProblem(password, repeat);
  // A 400 without field errors is the link itself: unknown, used already or expired.
  const linkInvalid = error?.status === 400 && !error.errors?.length;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (problem || !token) return;
    setBusy(true);
    setError(null);
    const err = await resetPassword(token, password).catch((): ApiError => ({ message: "", status: 0 }));
    setBusy(false);
    if (err) setError(err);
    else navigate(homeOf(tokens.session?.user.role), { replace: true });
  };

  if (!token) {
    return (
      <div className="narrow stack">
        <PageTitle>{t("reset.title")}</PageTitle>
        <Alert kind="info"><p>{t("reset.noToken")}</p></Alert>
        <p><Link to="/forgot-password" className="btn btn-primary">{t("reset.askNew")}</Link></p>
      </div>
    );
  }

  return (
    <div className="narrow stack">
      <PageTitle sub={linkInvalid ? undefined : t("reset.sub")}>{t("reset.title")}</PageTitle>
      {linkInvalid ? (
        <>
          <ErrorAlert error={error} />
          <p><Link to="/forgot-password" className="btn btn-primary">{t("reset.askNew")}</Link></p>
        </>
      ) : (
        <form className="card stack-sm" onSubmit={submit} noValidate>
          <TextField label={t("password.new")} type="password" autoComplete="new-password" required value={password}
            hint={t("signup.passwordHint")} error={touched && problem === "short" ? t("signup.passwordError") : undefined}
            onChange={(e) => setPassword(e.target.value)} />
          <TextField label={t("password.repeat")} type="password" autoComplete="new-password" required value={repeat}
            error={touched && problem === "mismatch" ? t("password.mismatch") : undefined}
            onChange={(e) => setRepeat(e.target.value)} />
          <ErrorAlert error={error} />
          <button className="btn btn-primary btn-block" type="submit" disabled={busy}>{busy ? t("common.wait") : t("reset.submit")}</button>
        </form>
      )}
    </div>
  );
}
