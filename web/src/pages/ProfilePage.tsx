import { useEffect, useState, type FormEvent } from "react";
import { useI18n } from "../i18n/i18n";
import { useLoad } from "../lib/useLoad";
import { api, errorOf, type ApiError } from "../api/client";
import { tokens } from "../auth/tokens";
import { displayPhone, normalizeKenyanPhone } from "../lib/phone";
import { Alert, ErrorAlert, PageTitle, Spinner, TextField } from "../components/ui";

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

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!profile.data || !phone) return;
    const body: { name?: string; email?: string; phone?: string } = {};
    if (form.name.trim() !== profile.data.name) body.name = form.name.trim();
    if (form.email.trim().toLowerCase() !== profile.data.email) body.email = form.email.trim();
    if (phone !== profile.data.phone) body.phone = phone;
    setBusy(true);
    setError(null);
    setSaved(false);
    const { data, error: err, response } = await api.PATCH("/api/auth/profile", { body });
    setBusy(false);
    if (!data) {
      setError(errorOf(err, response.status));
      return;
    }
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
          <TextField label={t("field.phone")} type="tel" autoComplete="tel" inputMode="tel" required value={form.phone}
            hint={t("signup.phoneHint")} error={phone ? undefined : t("signup.phoneError")}
            onChange={(e) => setForm({ ...form, phone: e.target.value })} />
          <ErrorAlert error={error} />
          {saved && <Alert kind="success">{t("profile.saved")}</Alert>}
          <button className="btn btn-primary btn-block" type="submit" disabled={busy || !phone || !form.name.trim()}>
            {busy ? t("common.wait") : t("profile.save")}
          </button>
        </form>
      )}
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
