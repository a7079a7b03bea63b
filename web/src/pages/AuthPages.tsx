import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { useI18n } from "../i18n/i18n";
import { useSession } from "../auth/session";
import { tokens } from "../auth/tokens";
import type { ApiError } from "../api/client";
import { ErrorAlert, PageTitle, TextField } from "../components/ui";
import { normalizeKenyanPhone } from "../lib/phone";

/** The signed-in page to go on to (`?next=`, a path of this site only), or "". */
export function useNext(): string {
  const [params] = useSearchParams();
  const next = params.get("next") ?? "";
  return next.startsWith("/") && !next.startsWith("//") ? next : "";
}

/** `path`, carrying `?next=` along when there is one. */
export function withNext(path: string, next: string): string {
  return `${path}${next ? `?next=${encodeURIComponent(next)}` : ""}`;
}

export function homeOf(role: string | undefined): string {
  return role === "admin" ? "/admin" : "/bookings";
}

export function LoginPage() {
  const { t } = useI18n();
  const { login } = useSession();
  const navigate = useNavigate();
  const next = useNext();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const err = await login(email, password).catch(() => ({ message: "", status: 0 }));
    setBusy(false);
    if (err) setError(err);
    else navigate(next || homeOf(tokens.session?.user.role), { replace: true });
  };

  return (
    <div className="narrow stack">
      <PageTitle sub={t("login.sub")}>{t("login.title")}</PageTitle>
      <form className="card stack-sm" onSubmit={submit}>
        <TextField label={t("field.email")} type="email" autoComplete="email" required value={email}
          onChange={(e) => setEmail(e.target.value)} />
        <TextField label={t("field.password")} type="password" autoComplete="current-password" required value={password}
          onChange={(e) => setPassword(e.target.value)} />
        <ErrorAlert error={error} />
        <button className="btn btn-primary btn-block" type="submit" disabled={busy}>{busy ? t("common.wait") : t("login.submit")}</button>
        <p className="center"><Link to={withNext("/forgot-password", next)}>{t("login.forgot")}</Link></p>
        <p className="center">{t("login.noAccount")} <Link to={withNext("/signup", next)}>{t("nav.signup")}</Link></p>
      </form>
    </div>
  );
}

export function SignupPage() {
  const { t } = useI18n();
  const { register } = useSession();
  const navigate = useNavigate();
  const next = useNext();
  const [form, setForm] = useState({ name: "", email: "", phone: "", password: "" });
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const phoneOk = normalizeKenyanPhone(form.phone) !== null;
  const passwordOk = form.password.length >= 8;
  const nameOk = form.name.trim().length > 0 && form.name.trim().length <= 100;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!phoneOk || !passwordOk || !nameOk) return;
    setBusy(true);
    const err = await register({ ...form, name: form.name.trim(), email: form.email.trim() })
      .catch(() => ({ message: "", status: 0 }));
    setBusy(false);
    if (err) setError(err);
    else navigate(next || "/", { replace: true });
  };

  return (
    <div className="narrow stack">
      <PageTitle sub={t("signup.sub")}>{t("signup.title")}</PageTitle>
      <form className="card stack-sm" onSubmit={submit} noValidate>
        <TextField label={t("field.name")} autoComplete="name" required value={form.name} maxLength={100}
          error={touched && !nameOk ? t("signup.nameError") : undefined}
          onChange={(e) => setForm({ ...form, name: e.target.value })} />
        <TextField label={t("field.email")} type="email" autoComplete="email" required value={form.email}
          onChange={(e) => setForm({ ...form, email: e.target.value })} />
        <TextField label={t("field.phone")} type="tel" autoComplete="tel" inputMode="tel" required value={form.phone}
          placeholder="0712 345 678" hint={t("signup.phoneHint")}
          error={touched && !phoneOk ? t("signup.phoneError") : undefined}
          onChange={(e) => setForm({ ...form, phone: e.target.value })} />
        <TextField label={t("field.password")} type="password" autoComplete="new-password" required value={form.password}
          hint={t("signup.passwordHint")} error={touched && !passwordOk ? t("signup.passwordError") : undefined}
          onChange={(e) => setForm({ ...form, password: e.target.value })} />
        <ErrorAlert error={error} />
        <button className="btn btn-primary btn-block" type="submit" disabled={busy}>{busy ? t("common.wait") : t("signup.submit")}</button>
        <p className="center">{t("signup.haveAccount")} <Link to={withNext("/login", next)}>{t("nav.login")}</Link></p>
      </form>
    </div>
  );
}
